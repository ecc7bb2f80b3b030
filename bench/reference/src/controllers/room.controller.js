import { pool } from "../lib/db.js";
import { toUser } from "../models/user.model.js";
import { MESSAGE_COLUMNS, toMessage, conversationId } from "../models/message.model.js";

// GET /api/rooms?limit — the caller's direct conversations, most recent activity first,
// each with its last message. The tutorial app has no rooms: a conversation is the set of
// messages between two users, so this is the straightforward SQL for "my conversations":
// DISTINCT ON the unordered pair, newest message first, then the other member's profile.
export const getRooms = async (req, res) => {
  try {
    const me = req.user._id;
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return res.status(400).json({ message: "limit must be 1-1000" });
    }

    const { rows } = await pool.query(
      `WITH last AS (
         SELECT DISTINCT ON (LEAST(sender_id, receiver_id), GREATEST(sender_id, receiver_id))
                ${MESSAGE_COLUMNS}
         FROM messages
         WHERE sender_id = $1 OR receiver_id = $1
         ORDER BY LEAST(sender_id, receiver_id), GREATEST(sender_id, receiver_id),
                  created_at DESC, id DESC
       )
       SELECT last.*,
              u.id AS u_id, u.full_name AS u_full_name, u.email AS u_email,
              u.profile_pic AS u_profile_pic, u.created_at AS u_created_at,
              u.updated_at AS u_updated_at
       FROM last
       JOIN users u
         ON u.id = CASE WHEN last.sender_id = $1 THEN last.receiver_id ELSE last.sender_id END
       ORDER BY last.created_at DESC, last.id DESC
       LIMIT $2`,
      [me, limit]
    );

    const rooms = rows.map((row) => {
      const lastMessage = toMessage(row);
      const other = toUser({
        id: row.u_id,
        full_name: row.u_full_name,
        email: row.u_email,
        profile_pic: row.u_profile_pic,
        created_at: row.u_created_at,
        updated_at: row.u_updated_at,
      });
      return {
        _id: conversationId(row.sender_id, row.receiver_id),
        kind: "direct",
        type: "consumer-to-consumer",
        name: null,
        members: [req.user, other],
        lastMessage,
        updatedAt: lastMessage.createdAt,
      };
    });

    res.status(200).json(rooms);
  } catch (error) {
    console.log("Error in getRooms controller: ", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};
