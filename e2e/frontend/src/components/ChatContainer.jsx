import { useEffect, useRef } from "react";
import { useChatStore } from "../store/useChatStore.js";
import { useAuthStore } from "../store/useAuthStore.js";
import { formatMessageTime } from "../lib/utils.js";
import MessageInput from "./MessageInput.jsx";

const ChatHeader = () => {
  const { selectedUser, setSelectedUser } = useChatStore();
  const { onlineUsers } = useAuthStore();
  return (
    <div className="chat-header" data-testid="chat-header" data-user-id={selectedUser._id}>
      <img className="avatar" src={selectedUser.profilePic || "/avatar.svg"} alt={selectedUser.fullName} />
      <strong data-testid="chat-header-name">{selectedUser.fullName}</strong>
      <small>{onlineUsers.includes(selectedUser._id) ? "Online" : "Offline"}</small>
      <button type="button" onClick={() => setSelectedUser(null)} data-testid="chat-close">
        ×
      </button>
    </div>
  );
};

const ChatContainer = () => {
  const { messages, getMessages, isMessagesLoading, selectedUser, subscribeToMessages, unsubscribeFromMessages } =
    useChatStore();
  const { authUser } = useAuthStore();
  const messageEndRef = useRef(null);

  useEffect(() => {
    getMessages(selectedUser._id);
    subscribeToMessages();
    return () => unsubscribeFromMessages();
  }, [selectedUser._id, getMessages, subscribeToMessages, unsubscribeFromMessages]);

  useEffect(() => {
    if (messageEndRef.current && messages) {
      messageEndRef.current.scrollIntoView({ behavior: "smooth" });
    }
  }, [messages]);

  return (
    <section className="chat">
      <ChatHeader />
      <div className="messages" data-testid="chat-messages" aria-busy={isMessagesLoading}>
        {!isMessagesLoading &&
          messages.map((message) => {
            const own = message.senderId === authUser._id;
            return (
              <div
                key={message._id}
                className={`message ${own ? "own" : "other"}`}
                data-testid="message"
                data-message-id={message._id}
                data-sender-id={message.senderId}
                ref={messageEndRef}
              >
                <img
                  className="avatar"
                  src={own ? authUser.profilePic || "/avatar.svg" : selectedUser.profilePic || "/avatar.svg"}
                  alt="profile pic"
                />
                <div className="bubble">
                  <time dateTime={message.createdAt}>{formatMessageTime(message.createdAt)}</time>
                  {message.image && (
                    <img className="attachment" data-testid="message-image" src={message.image} alt="Attachment" />
                  )}
                  {message.text && <p data-testid="message-text">{message.text}</p>}
                </div>
              </div>
            );
          })}
      </div>
      <MessageInput />
    </section>
  );
};

export default ChatContainer;
