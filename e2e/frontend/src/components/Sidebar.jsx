import { useEffect, useState } from "react";
import { useChatStore } from "../store/useChatStore.js";
import { useAuthStore } from "../store/useAuthStore.js";

const Sidebar = () => {
  const { getUsers, users, selectedUser, setSelectedUser, isUsersLoading } = useChatStore();
  const { onlineUsers } = useAuthStore();
  const [showOnlineOnly, setShowOnlineOnly] = useState(false);

  useEffect(() => {
    getUsers();
  }, [getUsers]);

  const filteredUsers = showOnlineOnly ? users.filter((user) => onlineUsers.includes(user._id)) : users;

  return (
    <aside className="sidebar" data-testid="sidebar" aria-busy={isUsersLoading}>
      <div className="sidebar-head">
        <strong>Contacts</strong>
        <label>
          <input
            type="checkbox"
            checked={showOnlineOnly}
            onChange={(e) => setShowOnlineOnly(e.target.checked)}
          />
          Show online only
        </label>
        <span data-testid="online-count">({Math.max(onlineUsers.length - 1, 0)} online)</span>
      </div>
      <ul data-testid="sidebar-users">
        {filteredUsers.map((user) => (
          <li key={user._id}>
            <button
              type="button"
              data-testid="sidebar-user"
              data-user-id={user._id}
              className={selectedUser?._id === user._id ? "selected" : ""}
              onClick={() => setSelectedUser(user)}
            >
              <img className="avatar" src={user.profilePic || "/avatar.svg"} alt={user.fullName} />
              <span className="user-name">{user.fullName}</span>
              <small>{onlineUsers.includes(user._id) ? "Online" : "Offline"}</small>
            </button>
          </li>
        ))}
        {filteredUsers.length === 0 && <li className="muted">No online users</li>}
      </ul>
    </aside>
  );
};

export default Sidebar;
