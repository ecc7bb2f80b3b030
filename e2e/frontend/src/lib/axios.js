import axios from "axios";

// Same as the tutorial: the production build talks to its own origin under /api,
// and the auth cookie (`jwt`, httpOnly) travels with every request.
export const axiosInstance = axios.create({
  baseURL: import.meta.env.MODE === "development" ? "http://localhost:5001/api" : "/api",
  withCredentials: true,
});
