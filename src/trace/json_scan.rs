//! A strict JSON scanner over bytes, for the one-pass reader (`fast`): it accepts only what
//! serde_json accepts, and gives up ([`Bail`]) on anything it does not take, so that the
//! general readers decide. The common decimals are read without `str::parse`, and strings are
//! searched eight bytes at a time.

use std::borrow::Cow;

use super::TokenBytes;

/// The input is not one the fast path takes; the general path reads it.
pub(super) struct Bail;
pub(super) type R<T> = Result<T, Bail>;

/// serde_json's own nesting limit: deeper input goes to the general path, which rejects it.
const MAX_DEPTH: usize = 128;

/// A strict JSON scanner over a byte slice (already checked to be UTF-8).
pub(super) struct Scan<'a> {
    pub(super) d: &'a [u8],
    pub(super) i: usize,
}

impl<'a> Scan<'a> {
    #[inline]
    pub(super) fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.d.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    pub(super) fn peek(&mut self) -> R<u8> {
        self.ws();
        self.d.get(self.i).copied().ok_or(Bail)
    }

    #[inline]
    pub(super) fn eat(&mut self, c: u8) -> R<()> {
        if self.peek()? != c {
            return Err(Bail);
        }
        self.i += 1;
        Ok(())
    }

    pub(super) fn literal(&mut self, word: &[u8]) -> R<()> {
        self.ws();
        if !self.d[self.i..].starts_with(word) {
            return Err(Bail);
        }
        self.i += word.len();
        Ok(())
    }

    /// An object: `f` is called with each key, positioned at its value, and must consume it.
    pub(super) fn object(
        &mut self,
        depth: usize,
        mut f: impl FnMut(&mut Self, &'a [u8]) -> R<()>,
    ) -> R<()> {
        if self.open(depth, b'{', b'}')? {
            return Ok(());
        }
        loop {
            let (key, escaped) = self.raw_string()?;
            if escaped {
                return Err(Bail);
            }
            self.eat(b':')?;
            f(self, key)?;
            if !self.more(b'}')? {
                return Ok(());
            }
        }
    }

    /// An array: `f` is called at each element and must consume it.
    pub(super) fn array(&mut self, depth: usize, mut f: impl FnMut(&mut Self) -> R<()>) -> R<()> {
        if self.open(depth, b'[', b']')? {
            return Ok(());
        }
        loop {
            f(self)?;
            if !self.more(b']')? {
                return Ok(());
            }
        }
    }

    /// Enter an object or array at `depth`: `true` when it is empty (and consumed whole).
    pub(super) fn open(&mut self, depth: usize, open: u8, close: u8) -> R<bool> {
        if depth >= MAX_DEPTH {
            return Err(Bail);
        }
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// After an element: `true` past a comma (another follows), `false` past `close`.
    pub(super) fn more(&mut self, close: u8) -> R<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Ok(true)
            }
            c if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(Bail),
        }
    }

    /// Consume a `null` if one is next.
    pub(super) fn null_or(&mut self) -> R<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    pub(super) fn null(&mut self) -> R<()> {
        self.literal(b"null")
    }

    pub(super) fn null_or_empty_array(&mut self) -> R<()> {
        if self.null_or()? {
            return Ok(());
        }
        self.eat(b'[')?;
        self.eat(b']')
    }

    /// A string's raw contents between the quotes, and whether it holds escapes. Escapes are
    /// checked to be valid (serde's rules) when there are any.
    pub(super) fn raw_string(&mut self) -> R<(&'a [u8], bool)> {
        self.eat(b'"')?;
        let d = self.d;
        let start = self.i;
        let mut i = start;
        let mut escaped = false;
        loop {
            // Eight bytes at a time up to the first quote, backslash or control byte.
            while let Some(word) = d.get(i..i + 8) {
                let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
                let m = special_bytes(w);
                if m != 0 {
                    i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            match *d.get(i).ok_or(Bail)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                c if c < 0x20 => return Err(Bail),
                _ => i += 1,
            }
        }
        self.i = i + 1;
        if escaped && serde_json::from_slice::<Cow<'_, str>>(&d[start - 1..self.i]).is_err() {
            return Err(Bail);
        }
        Ok((&d[start..i], escaped))
    }

    /// A string's raw contents and whether it holds escapes, or `None` for `null`.
    pub(super) fn opt_raw_string(&mut self) -> R<Option<(&'a [u8], bool)>> {
        if self.null_or()? {
            return Ok(None);
        }
        self.raw_string().map(Some)
    }

    pub(super) fn opt_string(&mut self) -> R<Option<String>> {
        if self.null_or()? {
            return Ok(None);
        }
        let start = self.i;
        let (raw, escaped) = self.raw_string()?;
        if escaped {
            let quoted = &self.d[start..self.i];
            return serde_json::from_slice::<String>(quoted)
                .map(Some)
                .map_err(|_| Bail);
        }
        std::str::from_utf8(raw)
            .map(|s| Some(s.to_owned()))
            .map_err(|_| Bail)
    }

    /// A JSON number's text and whether it is an integer (no fraction, no exponent).
    pub(super) fn number(&mut self) -> R<(&'a str, bool)> {
        self.ws();
        let d = self.d;
        let start = self.i;
        let mut i = start;
        if d.get(i) == Some(&b'-') {
            i += 1;
        }
        match d.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while d.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return Err(Bail),
        }
        let mut integer = true;
        if d.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            let at = i;
            while d.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == at {
                return Err(Bail);
            }
        }
        if let Some(b'e' | b'E') = d.get(i) {
            integer = false;
            i += 1;
            if let Some(b'+' | b'-') = d.get(i) {
                i += 1;
            }
            let at = i;
            while d.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == at {
                return Err(Bail);
            }
        }
        self.i = i;
        // SAFETY: every byte in start..i was matched above as one of `-+.eE0123456789`, so
        // the slice is ASCII. (Checking it again was a twentieth of reading a trace.)
        let text = unsafe { std::str::from_utf8_unchecked(&d[start..i]) };
        Ok((text, integer))
    }

    /// A number as serde_json gives it to an `f64` field. Its integers (through u64/i64, or
    /// f64 when out of their range, `-0` as −0.0) and its decimals are both the correctly
    /// rounded value, as `parse` gives; out of range is an error there, so it is not taken.
    pub(super) fn f64(&mut self) -> R<f64> {
        self.ws();
        if let Some((v, end)) = decimal(self.d, self.i) {
            self.i = end;
            return Ok(v);
        }
        let (text, _) = self.number()?;
        let v = text.parse::<f64>().map_err(|_| Bail)?;
        if !v.is_finite() {
            return Err(Bail);
        }
        Ok(v)
    }

    pub(super) fn opt_f64(&mut self) -> R<Option<f64>> {
        if self.null_or()? {
            return Ok(None);
        }
        self.f64().map(Some)
    }

    pub(super) fn i64(&mut self) -> R<i64> {
        let (text, integer) = self.number()?;
        // serde_json reads `-0` as a float, which an integer field refuses.
        if !integer || text == "-0" {
            return Err(Bail);
        }
        text.parse::<i64>().map_err(|_| Bail)
    }

    pub(super) fn opt_i64(&mut self) -> R<Option<i64>> {
        if self.null_or()? {
            return Ok(None);
        }
        self.i64().map(Some)
    }

    pub(super) fn opt_u64(&mut self) -> R<Option<u64>> {
        if self.null_or()? {
            return Ok(None);
        }
        let (text, integer) = self.number()?;
        if !integer {
            return Err(Bail);
        }
        text.parse::<u64>().map(Some).map_err(|_| Bail)
    }

    /// A `bytes` array: integers 0–255.
    pub(super) fn opt_bytes(&mut self) -> R<Option<TokenBytes>> {
        if self.null_or()? {
            return Ok(None);
        }
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Ok(Some(TokenBytes::new()));
        }
        // Collected in a plain array first: nearly every token fits.
        let (mut buf, mut n) = ([0u8; 16], 0);
        let mut out = TokenBytes::new();
        let d = self.d;
        let at = |i: usize| d.get(i).copied().ok_or(Bail);
        let mut i = self.i;
        loop {
            while let b' ' | b'\n' | b'\r' | b'\t' = at(i)? {
                i += 1;
            }
            // One to three digits, no leading zero, at most 255, not followed by a fraction
            // or an exponent.
            let mut v = u32::from(at(i)?.wrapping_sub(b'0'));
            if v > 9 {
                return Err(Bail);
            }
            i += 1;
            let first = v;
            let mut digits = 1;
            let mut c = at(i)?;
            while c.is_ascii_digit() {
                digits += 1;
                if digits > 3 || first == 0 {
                    return Err(Bail);
                }
                v = v * 10 + u32::from(c - b'0');
                i += 1;
                c = at(i)?;
            }
            if v > 255 || matches!(c, b'.' | b'e' | b'E') {
                return Err(Bail);
            }
            if n < buf.len() {
                buf[n] = v as u8;
            } else {
                if n == buf.len() {
                    out.extend_from_slice(&buf);
                }
                out.push(v as u8);
            }
            n += 1;
            while let b' ' | b'\n' | b'\r' | b'\t' = c {
                i += 1;
                c = at(i)?;
            }
            i += 1;
            match c {
                b',' => {}
                b']' => {
                    self.i = i;
                    if n <= buf.len() {
                        out = TokenBytes::from_slice(&buf[..n]);
                    }
                    return Ok(Some(out));
                }
                _ => return Err(Bail),
            }
        }
    }

    /// Whether the next value is `bytes` written as a compact array of decimals (`[72,105]`);
    /// consumes it if so, and nothing otherwise.
    pub(super) fn spells(&mut self, bytes: &[u8]) -> bool {
        self.ws();
        let d = &self.d[self.i..];
        if d.first() != Some(&b'[') {
            return false;
        }
        if bytes.is_empty() {
            if d.get(1) != Some(&b']') {
                return false;
            }
            self.i += 2;
            return true;
        }
        // Each byte's digits and the `,` or `]` after them, compared as one 32-bit word.
        let mut at = 1;
        let last = bytes.len() - 1;
        for (n, &b) in bytes.iter().enumerate() {
            let Some(word) = d.get(at..at + 4) else {
                return false;
            };
            let (digits, len) = SPELLED[usize::from(b)];
            let after = if n == last { b']' } else { b',' };
            let want = digits | u32::from(after) << (8 * len);
            let mask = u32::MAX >> (8 * (3 - len));
            if u32::from_le_bytes(word.try_into().expect("four bytes")) & mask != want {
                return false;
            }
            at += len as usize + 1;
        }
        self.i += at;
        true
    }

    /// Skip any JSON value, checking it is valid.
    pub(super) fn skip(&mut self, depth: usize) -> R<()> {
        match self.peek()? {
            b'"' => self.raw_string().map(drop),
            b'{' => self.object(depth, |s, _| s.skip(depth + 1)),
            b'[' => self.array(depth, |s| s.skip(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }
}

/// Powers of ten that an `f64` holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The JSON number at `d[i..]` when it has the common shape (at most 19 digits, and a power
/// of ten within ±22, negative when the mantissa is above 2^53), with the index after it;
/// `None` for anything else, valid or not, which the caller reads the general way.
///
/// Exact, the value `str::parse` gives: up to 2^53 both the mantissa and the power of ten are
/// exact `f64`s, and one IEEE multiplication or division rounds correctly (Clinger's fast
/// path); above it, [`long_quotient`] divides in integers.
pub(super) fn decimal(d: &[u8], mut i: usize) -> Option<(f64, usize)> {
    let digit = |i: usize| d.get(i).filter(|c| c.is_ascii_digit()).map(|c| c - b'0');
    let negative = d.get(i) == Some(&b'-');
    if negative {
        i += 1;
    }
    let (mut mantissa, mut digits) = (0u64, 0u32);
    let first = digit(i)?;
    if first == 0 {
        i += 1;
        if digit(i).is_some() {
            return None;
        }
    } else {
        while let Some(c) = digit(i) {
            if digits == 19 {
                return None;
            }
            mantissa = mantissa * 10 + u64::from(c);
            digits += 1;
            i += 1;
        }
    }
    let mut exponent: i32 = 0;
    if d.get(i) == Some(&b'.') {
        i += 1;
        digit(i)?;
        // Eight digits at a time while they fit in the 19.
        while digits <= 11 {
            let Some(word) = d.get(i..i + 8) else { break };
            let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            if !eight_digits(w) {
                break;
            }
            mantissa = mantissa * 100_000_000 + eight_digits_value(w);
            digits += 8;
            exponent -= 8;
            i += 8;
        }
        while let Some(c) = digit(i) {
            if digits == 19 {
                return None;
            }
            mantissa = mantissa * 10 + u64::from(c);
            digits += 1;
            exponent -= 1;
            i += 1;
        }
    }
    if let Some(b'e' | b'E') = d.get(i) {
        i += 1;
        let sign = match d.get(i) {
            Some(b'-') => {
                i += 1;
                -1
            }
            Some(b'+') => {
                i += 1;
                1
            }
            _ => 1,
        };
        let (mut e, mut n) = (0i32, 0);
        while let Some(c) = digit(i) {
            if n == 3 {
                return None;
            }
            e = e * 10 + i32::from(c);
            n += 1;
            i += 1;
        }
        if n == 0 {
            return None;
        }
        exponent += sign * e;
    }
    if exponent.unsigned_abs() as usize >= POW10.len() {
        return None;
    }
    if mantissa > 1 << 53 {
        // 17 to 19 digits, as Python and JavaScript write most logprobs.
        let v = long_quotient(mantissa, exponent)?;
        return Some((if negative { -v } else { v }, i));
    }
    let m = mantissa as f64;
    let v = if exponent >= 0 {
        m * POW10[exponent as usize]
    } else {
        m / POW10[exponent.unsigned_abs() as usize]
    };
    Some((if negative { -v } else { v }, i))
}

/// Whether the eight bytes of `w` are all ASCII digits.
fn eight_digits(w: u64) -> bool {
    let above = w.wrapping_add(0x4646_4646_4646_4646);
    let below = w.wrapping_sub(0x3030_3030_3030_3030);
    (above | below) & 0x8080_8080_8080_8080 == 0
}

/// The value of eight ASCII digits read as a little-endian word (first digit in the lowest
/// byte): pairs, then fours, then all eight combined by multiplication.
fn eight_digits_value(w: u64) -> u64 {
    let v = w - 0x3030_3030_3030_3030;
    let v = (v * 10) + (v >> 8);
    let low = (v & 0x0000_00FF_0000_00FF).wrapping_mul(0x000F_4240_0000_0064);
    let high = ((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(0x0000_2710_0000_0001);
    u64::from((low.wrapping_add(high) >> 32) as u32)
}

/// Each byte value's decimal digits as little-endian bytes of a word, and how many there are.
const SPELLED: [(u32, u32); 256] = {
    let mut t = [(0u32, 0u32); 256];
    let mut b = 0;
    while b < 256 {
        let (mut digits, mut len, mut rest) = (0u32, 0u32, b as u32);
        let mut place = if b >= 100 {
            100
        } else if b >= 10 {
            10
        } else {
            1
        };
        while place > 0 {
            digits |= (b'0' as u32 + rest / place) << (8 * len);
            rest %= place;
            place /= 10;
            len += 1;
        }
        t[b] = (digits, len);
        b += 1;
    }
    t
};

/// Powers of five up to 5^22, all below 2^52.
const POW5: [u64; 23] = {
    let mut p = [1u64; 23];
    let mut k = 1;
    while k < 23 {
        p[k] = p[k - 1] * 5;
        k += 1;
    }
    p
};

/// `mantissa × 10^exponent`, correctly rounded, for a mantissa above 2^53 and an exponent in
/// −22..=−1 (`None` otherwise). 10^q = 5^q · 2^q, so the value is `mantissa / 5^q` scaled by
/// an exact power of two: the integer quotient of `mantissa · 2^64` by 5^q carries at least
/// 66 significant bits, and it and the remainder decide the rounding to 53 bits (ties to even)
/// exactly, as `str::parse` rounds.
fn long_quotient(mantissa: u64, exponent: i32) -> Option<f64> {
    if !(-22..0).contains(&exponent) {
        return None;
    }
    let q = exponent.unsigned_abs();
    let divisor = u128::from(POW5[q as usize]);
    let numerator = u128::from(mantissa) << 64;
    let (quotient, remainder) = (numerator / divisor, numerator % divisor);
    // mantissa > 2^53 and 5^q < 2^52, so the quotient is above 2^65.
    let shift = 128 - quotient.leading_zeros() - 53;
    let mut m = (quotient >> shift) as u64;
    let below = quotient & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if below > half || (below == half && (remainder != 0 || m & 1 == 1)) {
        m += 1;
    }
    // m ≤ 2^53 is exact; both scalings are by powers of two and stay normal (the value is
    // above 2^53 / 10^22), so they are exact too.
    let scale = shift as i32 - 64 - q as i32;
    // 2^scale, built from its exponent bits (scale is within −73..=8).
    let power = f64::from_bits(((1023 + scale) as u64) << 52);
    Some(m as f64 * power)
}

/// Nonzero where a byte of `w` (little-endian) is `"`, `\` or below 0x20; its lowest set bit
/// is in the first such byte (bits above it may be false alarms from borrows).
pub(super) fn special_bytes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    (zero_in(quote) | zero_in(backslash) | (w.wrapping_sub(ONES * 0x20) & !w)) & HIGH
}

#[cfg(test)]
#[path = "json_scan_tests.rs"]
mod tests;
