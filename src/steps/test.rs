//! The test gate. (Being built: see issue 3.)

use anyhow::Result;

use crate::app::Ctx;
use crate::git::Oid;
use crate::state::Hotfix;
use crate::steps::GateView;

/// The test gate judged now for `tree` (the tip of the hotfix branch).
pub fn evaluate(_ctx: &Ctx, _h: &Hotfix, _tip: Oid, _tree: Oid) -> Result<GateView> {
    Ok(GateView {
        gate: "test",
        passed: false,
        reason: "not run yet".into(),
        next: Some("hotfix test".into()),
    })
}
