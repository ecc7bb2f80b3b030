import { useChatStore } from "../store/useChatStore.js";
import Sidebar from "../components/Sidebar.jsx";
import ChatContainer from "../components/ChatContainer.jsx";

const HomePage = () => {
  const { selectedUser } = useChatStore();

  return (
    <main className="home">
      <Sidebar />
      {!selectedUser ? (
        <section className="no-chat" data-testid="no-chat-selected">
          Select a conversation from the sidebar to start chatting
        </section>
      ) : (
        <ChatContainer />
      )}
    </main>
  );
};

export default HomePage;
