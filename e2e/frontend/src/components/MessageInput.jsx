import { useRef, useState } from "react";
import toast from "react-hot-toast";
import { useChatStore } from "../store/useChatStore.js";

const MessageInput = () => {
  const [text, setText] = useState("");
  const [imagePreview, setImagePreview] = useState(null);
  const fileInputRef = useRef(null);
  const { sendMessage } = useChatStore();

  const handleImageChange = (e) => {
    const file = e.target.files[0];
    if (!file) return;
    if (!file.type.startsWith("image/")) {
      toast.error("Please select an image file");
      return;
    }
    const reader = new FileReader();
    reader.onloadend = () => setImagePreview(reader.result);
    reader.readAsDataURL(file);
  };

  const removeImage = () => {
    setImagePreview(null);
    if (fileInputRef.current) fileInputRef.current.value = "";
  };

  const handleSendMessage = async (e) => {
    e.preventDefault();
    if (!text.trim() && !imagePreview) return;

    try {
      // Exactly the tutorial's body: `image` is null when no image is attached.
      await sendMessage({
        text: text.trim(),
        image: imagePreview,
      });
      setText("");
      setImagePreview(null);
      if (fileInputRef.current) fileInputRef.current.value = "";
    } catch (error) {
      console.error("Failed to send message:", error);
    }
  };

  return (
    <div className="message-input">
      {imagePreview && (
        <div className="preview" data-testid="image-preview">
          <img src={imagePreview} alt="Preview" />
          <button type="button" onClick={removeImage}>
            ×
          </button>
        </div>
      )}
      <form onSubmit={handleSendMessage}>
        <input
          type="text"
          placeholder="Type a message..."
          data-testid="message-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <input
          type="file"
          accept="image/*"
          hidden
          ref={fileInputRef}
          data-testid="message-image-input"
          onChange={handleImageChange}
        />
        <button type="button" onClick={() => fileInputRef.current?.click()}>
          Image
        </button>
        <button type="submit" data-testid="message-send" disabled={!text.trim() && !imagePreview}>
          Send
        </button>
      </form>
    </div>
  );
};

export default MessageInput;
