//! State file parser: any bytes give a state or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(state) = hotfix::state::parse_state(text) {
            // what parses must survive the write the store makes
            let again = toml::to_string(&state).expect("a parsed state serialises");
            let back = hotfix::state::parse_state(&again).expect("its own output parses");
            assert_eq!(back, state);
        }
    }
});
