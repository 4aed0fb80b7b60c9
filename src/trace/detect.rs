//! (format detection: to be written)
use super::{TraceError, TraceFormat};

pub fn detect(_data: &[u8]) -> Result<TraceFormat, TraceError> {
    Err(TraceError::Unrecognised(String::new()))
}
