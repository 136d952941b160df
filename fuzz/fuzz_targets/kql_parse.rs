//! Fuzzes the KQL parser and formatter: no panic on any input, and whatever parses must
//! format to text that parses to the same tree.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if let Ok(q) = kql::parse(src) {
        let printed = kql::format_query(&q);
        let again = kql::parse(&printed).expect("formatted text parses");
        assert_eq!(again, q, "formatting changed the tree:\n{printed}");
    }
});
