//! Fuzzes the feed readers (every format, detected and forced) and the refanger: no input
//! may panic, and every entry must end accepted or rejected.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ioc::read_feed_bytes(data, "fuzz", None);
    for f in ioc::FeedFormat::ALL {
        let _ = ioc::read_feed_bytes(data, "fuzz", Some(f));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let r = ioc::refang(s);
        let _ = ioc::normalize(&r, None);
    }
});
