export function formatMessageTime(date) {
  return new Date(date).toLocaleTimeString("en-US", {
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}

// The tutorial reads `error.response.data.message`; keep that, but don't crash
// when there is no response at all (network error).
export function errorMessage(error) {
  return error?.response?.data?.message || error?.message || "Something went wrong";
}
