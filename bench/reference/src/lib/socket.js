import { Server } from "socket.io";
import http from "http";
import express from "express";
import jwt from "jsonwebtoken";

const app = express();
const server = http.createServer(app);

const io = new Server(server, {
  cors: {
    origin: [process.env.CLIENT_URL || "http://localhost:5173"],
    credentials: true,
  },
});

export function getReceiverSocketId(userId) {
  return userSocketMap[userId];
}

// used to store online users
const userSocketMap = {}; // {userId: socketId}

// Addition to the tutorial: a client may prove who it is with a JWT
// (`auth: {token}` or an `Authorization: Bearer` header). Without one, the tutorial's
// `query.userId` is trusted as is — this is the reference, not natter.
io.use((socket, next) => {
  const header = socket.handshake.headers.authorization;
  const token =
    (socket.handshake.auth && socket.handshake.auth.token) ||
    (header && header.startsWith("Bearer ") ? header.slice(7) : undefined);
  if (!token) return next();
  try {
    const decoded = jwt.verify(token, process.env.JWT_SECRET);
    socket.data.userId = decoded.userId;
    next();
  } catch (error) {
    next(new Error("Unauthorized - Invalid Token"));
  }
});

io.on("connection", (socket) => {
  const userId = socket.data.userId || socket.handshake.query.userId;
  if (userId && userId !== "undefined") userSocketMap[userId] = socket.id;

  // io.emit() is used to send events to all the connected clients
  io.emit("getOnlineUsers", Object.keys(userSocketMap));

  socket.on("disconnect", () => {
    // (the tutorial deletes unconditionally; only forget the user if this socket is
    // still the one mapped, so a reconnect that raced the old socket's close survives)
    if (userSocketMap[userId] === socket.id) delete userSocketMap[userId];
    io.emit("getOnlineUsers", Object.keys(userSocketMap));
  });
});

export { io, app, server };
