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

/// Free a buffer `read_whole` gave. A large one is freed on another thread: handing its pages
/// back to the kernel takes ≈ 10 ms per 100 MB, which the analysis need not wait for.
pub fn release(data: Vec<u8>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_file_read_in_halves_is_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let data: Vec<u8> = (0..(PARALLEL_BYTES as usize + 12_345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
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
}
