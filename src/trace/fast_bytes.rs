//! Byte-level steps of the one-pass reader: the common decimals read without `str::parse`,
//! and the bytes that end or interrupt a JSON string found eight at a time.

/// Powers of ten that an `f64` holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The JSON number at `d[i..]` when it has the common shape (at most 19 digits, a mantissa
/// under 2^53 and a power of ten within ±22), with the index after it; `None` for anything
/// else, valid or not, which the caller reads the general way.
///
/// Exact: both the mantissa and the power of ten are exact `f64`s, and one IEEE multiplication
/// or division rounds correctly (Clinger's fast path), so the value is the one `str::parse`
/// gives.
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
    if mantissa > 1 << 53 || exponent.unsigned_abs() as usize >= POW10.len() {
        return None;
    }
    let m = mantissa as f64;
    let v = if exponent >= 0 {
        m * POW10[exponent as usize]
    } else {
        m / POW10[exponent.unsigned_abs() as usize]
    };
    Some((if negative { -v } else { v }, i))
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
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_exactly_or_left_alone() {
        let taken = [
            ("0", 0.0f64),
            ("-0", -0.0),
            ("-0.0", -0.0),
            ("-0.31326169", -0.31326169),
            ("-1.2345678e-05", -1.2345678e-05),
            ("-0.0003357036411762237", -0.0003357036411762237),
            ("12", 12.0),
            ("1E+2", 100.0),
            ("-9.5367431640625e-07", -9.5367431640625e-07),
        ];
        for (text, want) in taken {
            let (v, end) = decimal(text.as_bytes(), 0).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(v.to_bits(), want.to_bits(), "{text}");
            assert_eq!(end, text.len(), "{text}");
        }
        // Invalid JSON, or beyond the fast path: the general way decides.
        for text in [
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "--1",
            "+1",
            "1e1234",
            "-0.33357036411762237123",
            "12345678901234567890",
            "1e23",
            "9007199254740993",
        ] {
            assert_eq!(decimal(text.as_bytes(), 0), None, "{text}");
        }
        // Stops at the end of the number.
        assert_eq!(decimal(b"-2.5,", 0), Some((-2.5, 4)));
        assert_eq!(decimal(b"[7]", 1), Some((7.0, 2)));
    }

    #[test]
    fn decimals_agree_with_parse_on_many_values() {
        // A fixed pseudo-random walk over mantissas, lengths and exponents.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut taken = 0;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = 1 + (x % 19) as usize;
            let m = (x >> 8) % 10u64.pow(digits as u32);
            let point = (x >> 40) as usize % (digits + 1);
            let mut s = format!("{m:0digits$}");
            if point > 0 && point < s.len() {
                s.insert(point, '.');
                if s.starts_with('0') && !s.starts_with("0.") {
                    continue;
                }
            } else if s.len() > 1 && s.starts_with('0') {
                continue;
            }
            if x & 1 == 1 {
                s.insert(0, '-');
            }
            if x & 2 == 2 {
                s.push_str(&format!("e{}", (x >> 50) as i32 % 30 - 15));
            }
            let want: f64 = s.parse().unwrap();
            if let Some((v, end)) = decimal(s.as_bytes(), 0) {
                assert_eq!(v.to_bits(), want.to_bits(), "{s}");
                assert_eq!(end, s.len(), "{s}");
                taken += 1;
            }
        }
        assert!(taken > 100_000, "the fast path took only {taken}");
    }

    #[test]
    fn special_bytes_finds_the_first_quote_backslash_or_control_byte() {
        let first = |s: &[u8; 8]| {
            let m = special_bytes(u64::from_le_bytes(*s));
            (m != 0).then(|| (m.trailing_zeros() / 8) as usize)
        };
        assert_eq!(first(b"abcdefgh"), None);
        assert_eq!(first(b"ab\"defgh"), Some(2));
        assert_eq!(first(b"abcdefg\\"), Some(7));
        assert_eq!(first(b"\nbcdefgh"), Some(0));
        assert_eq!(first(b"\xc3\xa9\xe2\x80\x9c \x7f~"), None);
        assert_eq!(first(b"a\x1f\"\\\x00fgh"), Some(1));
        for b in 0..=255u8 {
            let mut w = *b"xxxxxxxx";
            w[5] = b;
            let special = b == b'"' || b == b'\\' || b < 0x20;
            assert_eq!(first(&w), special.then_some(5), "byte {b:#x}");
        }
    }
}
