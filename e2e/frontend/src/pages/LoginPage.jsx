import { useState } from "react";
import { Link } from "react-router-dom";
import { useAuthStore } from "../store/useAuthStore.js";

const LoginPage = () => {
  const [formData, setFormData] = useState({ email: "", password: "" });
  const { login, isLoggingIn } = useAuthStore();

  const handleSubmit = async (e) => {
    e.preventDefault();
    login(formData);
  };

  return (
    <main className="auth-page">
      <h1>Welcome Back</h1>
      <form onSubmit={handleSubmit} data-testid="login-form">
        <label>
          Email
          <input
            type="email"
            data-testid="login-email"
            value={formData.email}
            onChange={(e) => setFormData({ ...formData, email: e.target.value })}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            data-testid="login-password"
            value={formData.password}
            onChange={(e) => setFormData({ ...formData, password: e.target.value })}
          />
        </label>
        <button type="submit" disabled={isLoggingIn} data-testid="login-submit">
          {isLoggingIn ? "Loading..." : "Sign in"}
        </button>
      </form>
      <p>
        Don&apos;t have an account? <Link to="/signup">Create account</Link>
      </p>
    </main>
  );
};

export default LoginPage;
