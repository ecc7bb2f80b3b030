import { Link } from "react-router-dom";
import { useAuthStore } from "../store/useAuthStore.js";

const Navbar = () => {
  const { logout, authUser } = useAuthStore();

  return (
    <header className="navbar">
      <Link to="/" className="brand">
        Chatty
      </Link>
      <nav>
        {authUser ? (
          <>
            <span className="current-user" data-testid="current-user" data-user-id={authUser._id}>
              {authUser.fullName}
            </span>
            <Link to="/profile" data-testid="profile-link">
              Profile
            </Link>
            <button type="button" onClick={logout} data-testid="logout-button">
              Logout
            </button>
          </>
        ) : (
          <>
            <Link to="/login" data-testid="login-link">
              Log in
            </Link>
            <Link to="/signup" data-testid="signup-link">
              Sign up
            </Link>
          </>
        )}
      </nav>
    </header>
  );
};

export default Navbar;
