// users row -> the tutorial's user document shape (without the password).
export const USER_COLUMNS = "id, full_name, email, profile_pic, created_at, updated_at";

export const toUser = (row) => ({
  _id: row.id,
  fullName: row.full_name,
  email: row.email,
  profilePic: row.profile_pic,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});
