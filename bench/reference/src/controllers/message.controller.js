import { pool } from "../lib/db.js";
import { getReceiverSocketId, io } from "../lib/socket.js";
import { UUID_RE } from "../lib/utils.js";
import { USER_COLUMNS, toUser } from "../models/user.model.js";
import { MESSAGE_COLUMNS, toMessage } from "../models/message.model.js";

const parseLimit = (value, fallback) => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) return null;
  return n;
};

export const getUsersForSidebar = async (req, res) => {
  try {
    const loggedInUserId = req.user._id;
    const limit = parseLimit(req.query.limit, 1000);
    if (limit === null) return res.status(400).json({ message: "limit must be 1-1000" });
    const { cursor } = req.query;
    if (cursor !== undefined && !UUID_RE.test(cursor)) {
      return res.status(400).json({ message: "Invalid cursor" });
    }

    const params = [loggedInUserId, limit];
    let after = "";
    if (cursor !== undefined) {
      params.push(cursor.toLowerCase());
      after = "AND (created_at, id) > (SELECT created_at, id FROM users WHERE id = $3)";
    }

    const { rows } = await pool.query(
      `SELECT ${USER_COLUMNS} FROM users
       WHERE id <> $1 ${after}
       ORDER BY created_at, id
       LIMIT $2`,
      params
    );

    res.status(200).json(rows.map(toUser));
  } catch (error) {
    console.error("Error in getUsersForSidebar: ", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};

// GET /api/messages/:id?limit&before&after
// Without paging parameters: the newest 200. With any: `limit` (default 50) newest before
// `before`, or oldest after `after`. Always returned oldest first.
export const getMessages = async (req, res) => {
  try {
    const { id: userToChatId } = req.params;
    const myId = req.user._id;
    if (!UUID_RE.test(userToChatId)) {
      return res.status(404).json({ message: "User not found" });
    }

    const { before, after } = req.query;
    const paged = before !== undefined || after !== undefined || req.query.limit !== undefined;
    const limit = parseLimit(req.query.limit, paged ? 50 : 200);
    if (limit === null) return res.status(400).json({ message: "limit must be 1-1000" });
    if ((before !== undefined && !UUID_RE.test(before)) || (after !== undefined && !UUID_RE.test(after))) {
      return res.status(400).json({ message: "Invalid cursor" });
    }

    const params = [myId, userToChatId.toLowerCase(), limit];
    const conditions = [
      "LEAST(sender_id, receiver_id) = LEAST($1::uuid, $2::uuid)",
      "GREATEST(sender_id, receiver_id) = GREATEST($1::uuid, $2::uuid)",
    ];
    if (before !== undefined) {
      params.push(before.toLowerCase());
      conditions.push(
        `(created_at, id) < (SELECT created_at, id FROM messages WHERE id = $${params.length})`
      );
    }
    if (after !== undefined) {
      params.push(after.toLowerCase());
      conditions.push(
        `(created_at, id) > (SELECT created_at, id FROM messages WHERE id = $${params.length})`
      );
    }
    // catch-up (`after`) reads forwards; everything else takes the newest `limit`
    const direction = after !== undefined ? "ASC" : "DESC";

    const { rows } = await pool.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
       WHERE ${conditions.join(" AND ")}
       ORDER BY created_at ${direction}, id ${direction}
       LIMIT $3`,
      params
    );
    if (direction === "DESC") rows.reverse();

    res.status(200).json(rows.map(toMessage));
  } catch (error) {
    console.log("Error in getMessages controller: ", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};

export const sendMessage = async (req, res) => {
  try {
    const { text, image } = req.body || {};
    const { id: receiverId } = req.params;
    const senderId = req.user._id;

    if (!UUID_RE.test(receiverId)) {
      return res.status(404).json({ message: "User not found" });
    }
    const receiver = receiverId.toLowerCase();
    if (receiver === senderId) {
      return res.status(400).json({ message: "You cannot message yourself" });
    }
    if (text !== undefined && text !== null && typeof text !== "string") {
      return res.status(400).json({ message: "text must be a string" });
    }
    if (text && text.length > 5000) {
      return res.status(400).json({ message: "text must be at most 5000 characters" });
    }
    if (image !== undefined && image !== null && image !== "") {
      // The tutorial uploads a data URL to Cloudinary and stores the returned URL; the
      // reference has no object store, so it only accepts an image that is already a URL.
      if (typeof image !== "string" || !/^(https?:\/\/|\/uploads\/)/.test(image)) {
        return res.status(400).json({ message: "image must be a URL" });
      }
    }
    const hasText = typeof text === "string" && text.trim() !== "";
    if (!hasText && !image) {
      return res.status(400).json({ message: "Message must have text or an image" });
    }

    const { rows } = await pool.query(
      `INSERT INTO messages (sender_id, receiver_id, text, image) VALUES ($1, $2, $3, $4)
       RETURNING ${MESSAGE_COLUMNS}`,
      [senderId, receiver, hasText ? text : null, image || null]
    );
    const newMessage = toMessage(rows[0]);

    const receiverSocketId = getReceiverSocketId(receiver);
    if (receiverSocketId) {
      io.to(receiverSocketId).emit("newMessage", newMessage);
    }

    res.status(201).json(newMessage);
  } catch (error) {
    if (error.code === "23503") {
      // foreign_key_violation: the receiver does not exist
      return res.status(404).json({ message: "User not found" });
    }
    console.log("Error in sendMessage controller: ", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};
