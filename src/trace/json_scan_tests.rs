//! The scanner's pieces against plain references: decimals against the standard library's
//! parser, the word-at-a-time digit and special-byte tests against byte-by-byte checks, and the
//! match of a compact `bytes` array against the token's text.

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
        "9007199254740993e-23",
    ] {
        assert_eq!(decimal(text.as_bytes(), 0), None, "{text}");
    }
    // Stops at the end of the number.
    assert_eq!(decimal(b"-2.5,", 0), Some((-2.5, 4)));
    assert_eq!(decimal(b"[7]", 1), Some((7.0, 2)));
}

/// Whether the fast path takes the number `s`; when it does, it must read all of it, to
/// the value `str::parse` gives, bit for bit.
fn taken_as_parse_reads(s: &str) -> bool {
    let want: f64 = s.parse().unwrap();
    let Some((v, end)) = decimal(s.as_bytes(), 0) else {
        return false;
    };
    assert_eq!(v.to_bits(), want.to_bits(), "{s}");
    assert_eq!(end, s.len(), "{s}");
    true
}

#[test]
fn decimals_agree_with_parse_on_many_values() {
    // A fixed pseudo-random walk over mantissas, lengths and exponents.
    let mut rng = crate::test_rng::Xorshift(0x9E37_79B9_7F4A_7C15);
    let mut taken = 0;
    for _ in 0..200_000 {
        let x = rng.next_u64();
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
        taken += usize::from(taken_as_parse_reads(&s));
    }
    assert!(taken > 100_000, "the fast path took only {taken}");
}

#[test]
fn eight_digits_are_recognised_and_valued() {
    let word = |s: &[u8; 8]| u64::from_le_bytes(*s);
    assert!(eight_digits(word(b"01234567")));
    assert_eq!(eight_digits_value(word(b"01234567")), 1_234_567);
    assert_eq!(eight_digits_value(word(b"99999999")), 99_999_999);
    assert_eq!(eight_digits_value(word(b"10000000")), 10_000_000);
    for b in 0..=255u8 {
        let mut w = *b"55555555";
        w[3] = b;
        assert_eq!(eight_digits(word(&w)), b.is_ascii_digit(), "byte {b:#x}");
    }
}

#[test]
fn long_decimals_agree_with_parse() {
    // 17 to 19 significant digits, the shortest round-trip form of most f64 logprobs.
    let mut rng = crate::test_rng::Xorshift(0x2545_F491_4F6C_DD1D);
    let mut taken = 0;
    for n in 0..300_000u32 {
        let x = rng.next_u64();
        let s = match n % 3 {
            0 => format!("{:?}", -f64::from_bits(0x3F00_0000_0000_0000 | (x >> 12))),
            1 => {
                let digits = 17 + (x % 3) as u32;
                let m = 10u64.pow(digits - 1) + (x >> 4) % (9 * 10u64.pow(digits - 1));
                let point = 1 + (x >> 60) as usize % 4;
                let mut t = format!("0.{}{m}", "0".repeat(point - 1));
                if x & 1 == 1 {
                    t.insert(0, '-');
                }
                t
            }
            // 19 significant digits with an exponent.
            _ => format!("{:.18e}", f64::from_bits(0x3F50_0000_0000_0000 | (x >> 12))),
        };
        taken += usize::from(taken_as_parse_reads(&s));
    }
    assert!(taken > 150_000, "the fast path took only {taken}");
    for (text, want) in [
        ("9007199254740993e-1", 900719925474099.3f64),
        ("-0.33357036411762237", -0.33357036411762237),
        ("0.1000000000000000055", 0.1),
        ("1.7976931348623157e-5", 1.7976931348623157e-5),
        // Exact ties, 2^53 + 1 and 2^53 + 3: to the even neighbour.
        ("90071992547409930e-1", 9007199254740992.0),
        ("90071992547409950e-1", 9007199254740996.0),
    ] {
        let (v, _) = decimal(text.as_bytes(), 0).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(v.to_bits(), want.to_bits(), "{text}");
        assert_eq!(
            v.to_bits(),
            text.parse::<f64>().unwrap().to_bits(),
            "{text}"
        );
    }
}

#[test]
fn spells_takes_only_the_compact_decimal_array_of_those_bytes() {
    let spelled = |json: &str, bytes: &[u8]| {
        let mut s = Scan {
            d: json.as_bytes(),
            i: 0,
        };
        let took = s.spells(bytes);
        (took, s.i)
    };
    assert_eq!(spelled("[32,116,104,101],", b" the"), (true, 16));
    assert_eq!(
        spelled(" [0,9,10,99,100,255]", &[0, 9, 10, 99, 100, 255]),
        (true, 20)
    );
    assert_eq!(spelled("[]", b""), (true, 2));
    // Anything else is left for the parser, untouched.
    for (json, bytes) in [
        ("[32, 116]", &b" t"[..]),
        ("[32,116]", b" T"),
        ("[32,116", b" t"),
        ("[32,116,1]", b" t"),
        ("[32]", b" t"),
        ("[032]", b" "),
        ("null", b" "),
    ] {
        let (took, _) = spelled(json, bytes);
        assert!(!took, "{json}");
    }
    let mut s = Scan {
        d: b"  [1, 2]",
        i: 0,
    };
    assert!(!s.spells(&[1, 2]));
    assert_eq!(s.i, 2, "only whitespace is consumed");
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
