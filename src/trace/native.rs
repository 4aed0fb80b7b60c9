//! (reader: to be written)
use super::{Trace, TraceError};

pub fn read(_data: &[u8]) -> Result<Trace, TraceError> {
    Err(TraceError::Empty)
}
