//! The rest of the spec's process and linux fields the init applies:
//! (filled in as they land).

use crate::error::Result;
use crate::spec::Plan;

/// Check these fields while nothing has been made yet (parent, before
/// create reserves anything); errors name the field.
pub fn validate(_plan: &Plan) -> Result<()> {
    Ok(())
}

/// Apply them in the init, in the container's namespaces, after the root
/// switch and rlimits, before the user switch and capabilities.
pub fn apply(_plan: &Plan) -> Result<()> {
    Ok(())
}
