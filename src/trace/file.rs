//! Reading a trace file into memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Files at least this large are read by two threads, one half each.
const PARALLEL_BYTES: u64 = 8 << 20;

/// The whole content of the file at `path`, as `std::fs::read` gives it. A large file is read
/// in two halves at once: most of the time of reading a file that is in the page cache goes
/// to the kernel mapping fresh memory for it, page by page, and two cores do that in half the
/// time. A file whose size changes while it is read is read again from the start, in one go.
pub fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    if size < PARALLEL_BYTES || usize::try_from(size).is_err() {
        return read_to_end(&mut file, size);
    }
    match read_halves(&file, size as usize)? {
        Some(data) => Ok(data),
        None => read_to_end(&mut file, size),
    }
}

/// A trace file's content: read into memory, or mapped.
pub enum Contents {
    Read(Vec<u8>),
    #[cfg(unix)]
    Mapped(Mapped),
}

impl std::ops::Deref for Contents {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Contents::Read(data) => data,
            #[cfg(unix)]
            Contents::Mapped(mapped) => &mapped.map,
        }
    }
}

/// A mapped file, watched for being cut short while it is mapped (see [`cut_short`]).
#[cfg(unix)]
pub struct Mapped {
    // Fields drop in order: the map is gone before the watch ends.
    map: memmap2::Mmap,
    _watch: cut_short::Watch,
}

/// The content of the file at `path`, for a short-lived process. A large file is mapped
/// instead of read: its pages are already in the page cache, and mapping them spares the
/// fresh memory a copy needs, which is most of the time of reading (on a VM, where fresh pages
/// cost the most, `hedge check` took 12–16 % less wall time on 125 and 441 MB traces). If
/// another process cuts the file short while it is mapped, reading past the new end raises SIGBUS;
/// [`cut_short`] turns that into an error line and exit status 2. A long-lived process (the
/// language server) reads instead: one file changed under it must not end it.
pub fn map_whole(path: &Path) -> std::io::Result<Contents> {
    #[cfg(unix)]
    {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        if size >= PARALLEL_BYTES {
            if let Ok(len) = usize::try_from(size) {
                let watch = cut_short::Watch::start(path);
                // SAFETY: the map is only read, and lives in `Mapped` beside the watch that
                // turns the one hazard of another process shortening the file into an exit.
                // A file system that cannot map files is read from instead.
                if let Ok(map) = unsafe { memmap2::MmapOptions::new().len(len).map(&file) } {
                    return Ok(Contents::Mapped(Mapped { map, _watch: watch }));
                }
            }
        }
    }
    read_whole(path).map(Contents::Read)
}

/// Let go of a file's content. A large one is let go of on another thread: handing its pages
/// back to the kernel takes ≈ 10 ms per 100 MB, which the analysis need not wait for.
pub fn release(data: Contents) {
    if data.len() as u64 >= PARALLEL_BYTES {
        let _ = std::thread::Builder::new()
            .name("hedge-free".into())
            .spawn(move || drop(data));
    }
}

fn read_to_end(file: &mut File, size_hint: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Seek;
    file.rewind()?;
    let mut data = Vec::with_capacity(usize::try_from(size_hint).unwrap_or(0));
    file.read_to_end(&mut data)?;
    Ok(data)
}

/// `size` bytes read by two threads; `None` when the file turned out to have another size.
#[cfg(unix)]
fn read_halves(file: &File, size: usize) -> std::io::Result<Option<Vec<u8>>> {
    use std::os::unix::fs::FileExt;
    // Zeroed memory from the allocator is fresh pages the reads fill in, not a pass of zeroes.
    let mut data = vec![0u8; size];
    let (first, second) = data.split_at_mut(size / 2);
    let read = |part: &mut [u8], at: usize| match file.read_exact_at(part, at as u64) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    };
    let (a, b) = std::thread::scope(|s| {
        let later = s.spawn(|| read(second, size / 2));
        let a = read(first, 0);
        (a, later.join().unwrap_or(Ok(false)))
    });
    let whole = a? && b?;
    // Nothing after the end: the file did not grow meanwhile.
    if !whole || file.read_at(&mut [0u8], size as u64)? != 0 {
        return Ok(None);
    }
    Ok(Some(data))
}

#[cfg(not(unix))]
fn read_halves(_file: &File, _size: usize) -> std::io::Result<Option<Vec<u8>>> {
    Ok(None)
}

/// SIGBUS while a trace file is mapped: the file was cut short by another process. The handler
/// writes one line naming the file and exits with status 2, as for any unreadable trace.
#[cfg(unix)]
mod cut_short {
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
    use std::sync::OnceLock;

    /// How many mapped files are being read now.
    static WATCHING: AtomicUsize = AtomicUsize::new(0);
    /// The line for the latest file mapped. Each is leaked (a few bytes per file) so that the
    /// handler never reads freed memory; one atomic load gives the whole slice.
    static MESSAGE: AtomicPtr<&'static [u8]> = AtomicPtr::new(std::ptr::null_mut());
    /// The handler that was there before ours (the standard library's stack-overflow check).
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    /// While it lives, SIGBUS is reported as this file cut short.
    pub struct Watch(());

    impl Watch {
        pub fn start(path: &Path) -> Watch {
            let line = format!(
                "hedge: {}: the file was cut short while hedge read it (another program is \
                 writing it?); run hedge again once it is complete\n",
                path.display()
            );
            let line: &'static [u8] = Box::leak(line.into_bytes().into_boxed_slice());
            MESSAGE.store(Box::leak(Box::new(line)), Ordering::Release);
            WATCHING.fetch_add(1, Ordering::AcqRel);
            PREVIOUS.get_or_init(install);
            Watch(())
        }
    }

    impl Drop for Watch {
        fn drop(&mut self) {
            WATCHING.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn install() -> libc::sigaction {
        // SAFETY: plain sigaction calls with initialised structs; the handler only makes
        // async-signal-safe calls (write, _exit, sigaction).
        unsafe {
            let mut ours: libc::sigaction = std::mem::zeroed();
            ours.sa_sigaction = on_bus_error as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut ours.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGBUS, &ours, &mut previous);
            previous
        }
    }

    extern "C" fn on_bus_error(_signal: libc::c_int) {
        let message = MESSAGE.load(Ordering::Acquire);
        if WATCHING.load(Ordering::Acquire) == 0 || message.is_null() {
            // Not a mapped trace: put the previous handler back; the faulting access runs
            // again on return and that handler (or the default, a core dump) takes it.
            if let Some(previous) = PREVIOUS.get() {
                // SAFETY: restores the action sigaction itself returned.
                unsafe { libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut()) };
            }
            return;
        }
        // SAFETY: `message` points to a leaked slice that is never freed.
        unsafe {
            let line: &[u8] = *message;
            libc::write(2, line.as_ptr().cast(), line.len());
            libc::_exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Contents for a file `extra` bytes over the size that is read in halves or mapped: bytes
    /// that vary, so that a half read into the wrong place shows.
    fn large_data(extra: usize) -> Vec<u8> {
        (0..(PARALLEL_BYTES as usize + extra))
            .map(|i| (i * 7 % 251) as u8)
            .collect()
    }

    #[test]
    fn a_large_file_read_in_halves_is_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let data = large_data(12_345);
        std::fs::write(&path, &data).unwrap();
        assert_eq!(read_whole(&path).unwrap(), data);
        let file = File::open(&path).unwrap();
        assert_eq!(read_halves(&file, data.len()).unwrap().unwrap(), data);
    }

    #[test]
    fn a_file_of_another_size_than_expected_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, vec![b'x'; 1000]).unwrap();
        let file = File::open(&path).unwrap();
        // Shorter than expected, and longer.
        assert_eq!(read_halves(&file, 2000).unwrap(), None);
        assert_eq!(read_halves(&file, 600).unwrap(), None);
        assert_eq!(read_halves(&file, 1000).unwrap().unwrap().len(), 1000);
        assert_eq!(read_whole(&path).unwrap().len(), 1000);
        assert_eq!(
            read_whole(&dir.path().join("missing")).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }

    #[test]
    fn a_large_file_is_mapped_and_a_small_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let large = dir.path().join("large.json");
        let data = large_data(77);
        std::fs::write(&large, &data).unwrap();
        let contents = map_whole(&large).unwrap();
        assert!(matches!(contents, Contents::Mapped(_)));
        assert_eq!(&contents[..], &data[..]);
        release(contents);

        let small = dir.path().join("small.json");
        std::fs::write(&small, b"{}").unwrap();
        let contents = map_whole(&small).unwrap();
        assert!(matches!(contents, Contents::Read(_)));
        assert_eq!(&contents[..], b"{}");
        assert_eq!(
            map_whole(&dir.path().join("missing")).err().unwrap().kind(),
            std::io::ErrorKind::NotFound
        );
    }

    /// Set in the child process the test below starts: the file it maps and cuts short.
    const CUT_SHORT_CHILD: &str = "HEDGE_TEST_CUT_SHORT_FILE";
    /// Set in the child process of the foreign bus error test.
    const FOREIGN_CHILD: &str = "HEDGE_TEST_FOREIGN_BUS_ERROR";

    /// This test binary run again for the one test `name`, with `key` set to `value`: a child
    /// process that may die of a signal without taking the test run with it.
    fn run_child(name: &str, key: &str, value: &std::ffi::OsStr) -> std::process::Output {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads=1", "--nocapture"])
            .env(key, value)
            .output()
            .unwrap()
    }

    #[test]
    fn a_mapped_file_cut_short_ends_the_process_with_one_line_and_status_2() {
        if let Some(path) = std::env::var_os(CUT_SHORT_CHILD) {
            // The child: map the file, cut it short, read past the new end.
            let path = std::path::PathBuf::from(path);
            let contents = map_whole(&path).unwrap();
            assert!(matches!(contents, Contents::Mapped(_)));
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(4096).unwrap();
            let last = std::hint::black_box(contents[contents.len() - 1]);
            // Not reached: SIGBUS ends the process first.
            std::process::exit(i32::from(last) + 10);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.json");
        std::fs::write(&path, vec![b' '; PARALLEL_BYTES as usize + 4096]).unwrap();
        let out = run_child(
            "trace::file::tests::a_mapped_file_cut_short_ends_the_process_with_one_line_and_status_2",
            CUT_SHORT_CHILD,
            path.as_os_str(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
        let expected = format!(
            "hedge: {}: the file was cut short while hedge read it (another program is writing \
             it?); run hedge again once it is complete",
            path.display()
        );
        assert!(stderr.lines().any(|l| l == expected), "stderr: {stderr}");
        // The file itself is as the child left it: hedge only read it.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
    }

    #[test]
    fn a_bus_error_with_no_file_mapped_is_left_to_the_previous_handler() {
        if std::env::var_os(FOREIGN_CHILD).is_some() {
            // A map watched and let go of, then a bus error in a map of someone else's.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.json");
            std::fs::write(&path, vec![b' '; PARALLEL_BYTES as usize]).unwrap();
            drop(map_whole(&path).unwrap());
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            // SAFETY: a child process made to die of this map's bus error.
            let other = unsafe { memmap2::Mmap::map(&file).unwrap() };
            file.set_len(0).unwrap();
            let last = std::hint::black_box(other[other.len() - 1]);
            std::process::exit(i32::from(last) + 10);
        }
        let out = run_child(
            "trace::file::tests::a_bus_error_with_no_file_mapped_is_left_to_the_previous_handler",
            FOREIGN_CHILD,
            "1".as_ref(),
        );
        use std::os::unix::process::ExitStatusExt;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("cut short"), "stderr: {stderr}");
        assert_ne!(out.status.code(), Some(2), "stderr: {stderr}");
        assert_eq!(out.status.signal(), Some(libc::SIGBUS), "stderr: {stderr}");
    }
}
