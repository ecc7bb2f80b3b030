import jwt from "jsonwebtoken";

export const JWT_EXPIRES_IN = "7d";
const JWT_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The tutorial's generateToken(userId, res): sign a JWT and set it as the `jwt` cookie.
// It also returns the token so login can hand it out as `accessToken`.
export const generateToken = (userId, res) => {
  const token = jwt.sign({ userId, sub: userId }, process.env.JWT_SECRET, {
    expiresIn: JWT_EXPIRES_IN,
  });

  res.cookie("jwt", token, {
    maxAge: JWT_MAX_AGE_MS, // MS
    httpOnly: true, // prevent XSS attacks
    sameSite: "strict", // CSRF attacks
    secure: process.env.COOKIE_SECURE === "true",
  });

  return token;
};

// Returns the token from the `jwt` cookie, else `Authorization: Bearer`, else `x-access-token`.
export const tokenFromRequest = (req) => {
  if (req.cookies && req.cookies.jwt) return req.cookies.jwt;
  const header = req.headers.authorization;
  if (header && header.startsWith("Bearer ")) return header.slice(7);
  return req.headers["x-access-token"];
};
