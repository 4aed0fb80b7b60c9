//! (reader: to be written)
use super::{Trace, TraceError};

pub fn read(_data: &[u8]) -> Result<Trace, TraceError> {
    Err(TraceError::Empty)
}

pub fn read_stream(_data: &[u8]) -> Result<Trace, TraceError> {
    Err(TraceError::Empty)
}
