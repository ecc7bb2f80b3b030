import jwt from "jsonwebtoken";
import { pool } from "../lib/db.js";
import { USER_COLUMNS, toUser } from "../models/user.model.js";
import { tokenFromRequest, UUID_RE } from "../lib/utils.js";

export const protectRoute = async (req, res, next) => {
  try {
    const token = tokenFromRequest(req);

    if (!token) {
      return res.status(401).json({ message: "Unauthorized - No Token Provided" });
    }

    let decoded;
    try {
      decoded = jwt.verify(token, process.env.JWT_SECRET);
    } catch (error) {
      // (the tutorial lets an expired token fall through to the 500 below)
      return res.status(401).json({ message: "Unauthorized - Invalid Token" });
    }

    if (!decoded || typeof decoded.userId !== "string" || !UUID_RE.test(decoded.userId)) {
      return res.status(401).json({ message: "Unauthorized - Invalid Token" });
    }

    // As in the tutorial (User.findById(decoded.userId).select("-password")): every
    // authenticated request loads its user.
    const { rows } = await pool.query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [
      decoded.userId,
    ]);

    if (rows.length === 0) {
      return res.status(401).json({ message: "Unauthorized - User not found" });
    }

    req.user = toUser(rows[0]);

    next();
  } catch (error) {
    console.log("Error in protectRoute middleware: ", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};
