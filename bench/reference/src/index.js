import express from "express";
import cookieParser from "cookie-parser";
import cors from "cors";

import { initSchema, pool } from "./lib/db.js";
import { app, server } from "./lib/socket.js";

import authRoutes from "./routes/auth.route.js";
import messageRoutes from "./routes/message.route.js";
import roomRoutes from "./routes/room.route.js";

const PORT = Number(process.env.PORT || 5001);

if (!process.env.JWT_SECRET) {
  console.error("JWT_SECRET must be set");
  process.exit(1);
}

app.use(express.json({ limit: "10mb" }));
app.use(cookieParser());
app.use(
  cors({
    origin: process.env.CLIENT_URL || "http://localhost:5173",
    credentials: true,
  })
);

app.use("/api/auth", authRoutes);
app.use("/api/messages", messageRoutes);
app.use("/api/rooms", roomRoutes);

app.get("/healthz", (req, res) => res.status(200).json({ status: "ok" }));

// JSON instead of Express's HTML pages for unknown routes and body-parser errors.
app.use((req, res) => res.status(404).json({ message: "Route not found" }));
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  if (err.type === "entity.parse.failed") return res.status(400).json({ message: "Malformed JSON" });
  if (err.type === "entity.too.large") return res.status(413).json({ message: "Payload too large" });
  console.log("Unhandled error", err.message);
  res.status(err.status || 500).json({ message: "Internal Server Error" });
});

const shutdown = () => {
  server.close();
  pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

await initSchema();
server.listen(PORT, () => {
  console.log("server is running on PORT:" + PORT);
});
