//! hotfix.toml parser: any bytes give a config or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = hotfix::config::Config::parse(text, "fuzz") {
            // what parses must survive the round trip the state snapshot makes
            let again = config.to_toml().expect("a parsed config serialises");
            let back =
                hotfix::config::Config::parse(&again, "fuzz").expect("its own output parses");
            assert_eq!(back, config);
            let _ = config.test.timeout();
        }
    }
});
