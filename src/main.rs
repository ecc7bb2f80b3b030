fn main() -> std::process::ExitCode {
    tune_malloc();
    natter::cli::main()
}

/// glibc's malloc, set for a server that holds many small long-lived objects (sockets) and
/// now and then large short-lived buffers (presence lists, pages of messages), unless the
/// environment sets these itself (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`). Called
/// first, before any thread starts. Measured with 10,000 idle Socket.IO connections of
/// 10,000 users on SQLite (bench/run.sh): 13.9 KiB of RSS per connection with glibc's
/// defaults, 8.7 KiB with both settings; what the connections themselves hold is ~6.7 KiB.
///
/// - One arena: by default threads that allocate at once get arenas of their own (up to 8
///   per core), and memory freed into one arena serves only that arena's threads again.
///   Each thread still takes small blocks from a cache of its own (tcache) without a lock;
///   request throughput measured the same.
/// - A fixed mmap threshold (128 KiB, glibc's starting value): by default glibc raises it
///   each time a large block is freed, after which large buffers come from the heap and
///   leave holes there that are never given back.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets parameters of the allocator, before any thread starts.
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
        }
    }
}
