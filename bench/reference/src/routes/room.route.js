import express from "express";
import { protectRoute } from "../middleware/auth.middleware.js";
import { getRooms } from "../controllers/room.controller.js";

const router = express.Router();

router.get("/", protectRoute, getRooms);

export default router;
