// messages row -> the tutorial's message document shape, plus natter's `roomId`
// (here derived from the pair of users: there is no rooms table in the tutorial stack).
export const MESSAGE_COLUMNS =
  "id, sender_id, receiver_id, text, image, created_at, updated_at";

export const conversationId = (a, b) => (a < b ? `${a}_${b}` : `${b}_${a}`);

export const toMessage = (row) => {
  const message = {
    _id: row.id,
    roomId: conversationId(row.sender_id, row.receiver_id),
    senderId: row.sender_id,
    receiverId: row.receiver_id,
    text: row.text,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.image) message.image = row.image;
  return message;
};
