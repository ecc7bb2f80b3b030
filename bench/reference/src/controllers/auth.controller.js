import bcrypt from "bcryptjs";
import { pool } from "../lib/db.js";
import { generateToken } from "../lib/utils.js";
import { USER_COLUMNS, toUser } from "../models/user.model.js";

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const signup = async (req, res) => {
  const { fullName, email, password } = req.body || {};
  try {
    if (!fullName || !email || !password) {
      return res.status(400).json({ message: "All fields are required" });
    }
    if (typeof fullName !== "string" || typeof email !== "string" || typeof password !== "string") {
      return res.status(400).json({ message: "All fields must be strings" });
    }
    if (!fullName.trim() || fullName.length > 100) {
      return res.status(400).json({ message: "Full name must be 1-100 characters" });
    }
    if (!EMAIL_RE.test(email)) {
      return res.status(400).json({ message: "Invalid email format" });
    }
    if (password.length < 6) {
      return res.status(400).json({ message: "Password must be at least 6 characters" });
    }
    if (password.length > 128) {
      return res.status(400).json({ message: "Password must be at most 128 characters" });
    }

    const normalizedEmail = email.trim().toLowerCase();

    const existing = await pool.query("SELECT 1 FROM users WHERE lower(email) = $1", [
      normalizedEmail,
    ]);
    if (existing.rows.length > 0) {
      return res.status(409).json({ message: "Email already exists" });
    }

    const salt = await bcrypt.genSalt(10);
    const hashedPassword = await bcrypt.hash(password, salt);

    const { rows } = await pool.query(
      `INSERT INTO users (full_name, email, password) VALUES ($1, $2, $3)
       RETURNING ${USER_COLUMNS}`,
      [fullName.trim(), normalizedEmail, hashedPassword]
    );
    const newUser = toUser(rows[0]);

    // generate jwt token here
    generateToken(newUser._id, res);

    res.status(201).json(newUser);
  } catch (error) {
    if (error.code === "23505") {
      // unique_violation: a concurrent signup with the same e-mail won the race
      return res.status(409).json({ message: "Email already exists" });
    }
    console.log("Error in signup controller", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};

export const login = async (req, res) => {
  const { email, password } = req.body || {};
  try {
    if (typeof email !== "string" || typeof password !== "string") {
      return res.status(400).json({ message: "Invalid credentials" });
    }

    const { rows } = await pool.query(
      `SELECT ${USER_COLUMNS}, password FROM users WHERE lower(email) = lower($1)`,
      [email.trim()]
    );

    if (rows.length === 0) {
      return res.status(400).json({ message: "Invalid credentials" });
    }

    const isPasswordCorrect = await bcrypt.compare(password, rows[0].password);
    if (!isPasswordCorrect) {
      return res.status(400).json({ message: "Invalid credentials" });
    }

    const user = toUser(rows[0]);
    const accessToken = generateToken(user._id, res);

    res.status(200).json({ ...user, accessToken });
  } catch (error) {
    console.log("Error in login controller", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};

export const logout = (req, res) => {
  try {
    res.cookie("jwt", "", { maxAge: 0 });
    res.status(200).json({ message: "Logged out successfully" });
  } catch (error) {
    console.log("Error in logout controller", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};

export const checkAuth = (req, res) => {
  try {
    res.status(200).json(req.user);
  } catch (error) {
    console.log("Error in checkAuth controller", error.message);
    res.status(500).json({ message: "Internal Server Error" });
  }
};
