import { useState } from "react";
import { useAuthStore } from "../store/useAuthStore.js";

const ProfilePage = () => {
  const { authUser, isUpdatingProfile, updateProfile } = useAuthStore();
  const [selectedImg, setSelectedImg] = useState(null);

  const handleImageUpload = async (e) => {
    const file = e.target.files[0];
    if (!file) return;

    const reader = new FileReader();
    reader.readAsDataURL(file);
    reader.onload = async () => {
      const base64Image = reader.result;
      setSelectedImg(base64Image);
      await updateProfile({ profilePic: base64Image });
    };
  };

  return (
    <main className="profile-page">
      <h1>Profile</h1>
      <img
        className="avatar avatar-lg"
        data-testid="profile-avatar"
        src={selectedImg || authUser.profilePic || "/avatar.svg"}
        alt="Profile"
      />
      <label>
        {isUpdatingProfile ? "Uploading..." : "Click to change your photo"}
        <input
          type="file"
          accept="image/*"
          data-testid="avatar-upload"
          onChange={handleImageUpload}
          disabled={isUpdatingProfile}
        />
      </label>
      <dl>
        <dt>Full Name</dt>
        <dd data-testid="profile-fullname">{authUser?.fullName}</dd>
        <dt>Email</dt>
        <dd data-testid="profile-email">{authUser?.email}</dd>
        <dt>Member Since</dt>
        <dd>{authUser.createdAt?.split("T")[0]}</dd>
      </dl>
      <p data-testid="profile-saved-pic" data-src={authUser.profilePic || ""} hidden />
    </main>
  );
};

export default ProfilePage;
