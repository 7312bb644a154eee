//! ACL 2.0 checks for the surfaces other than the broker's remoting port: the gRPC API and the
//! name server. They find the caller and what it needs in their own way (gRPC metadata and
//! messages; remoting ext fields and name-server request codes) and hand both to
//! [`Auth::check_caller`], which applies the same users, ACLs and counters as
//! [`Auth::check`].

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use super::model::{user_subject, Action, Decision, Resource, UserStatus, UserType};
use super::Auth;

/// A refused request: which check refused it, and why (ready for a client to read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// True when authentication refused it (no user, unknown user, bad signature); false when
    /// authorization did.
    pub authentication: bool,
    /// What was refused and why.
    pub message: String,
}

/// Who is calling, as the surface found it.
pub struct Caller<'a> {
    /// The user the request names (`None`: unsigned).
    pub username: Option<&'a str>,
    /// Whether the request's signature is right under a password; not called for unsigned
    /// requests.
    pub signed_with: &'a dyn Fn(&str) -> bool,
}

impl Auth {
    /// Checks a request named `what` (for messages) from `peer`, made by `caller`, needing
    /// `needed` (`Err`: the request is malformed for authorization, refused as such).
    /// `skip_authentication` / `skip_authorization` carry the surface's whitelists.
    pub fn check_caller(
        &self,
        peer: IpAddr,
        what: &str,
        caller: &Caller<'_>,
        needed: Result<Vec<(Resource, Vec<Action>)>, String>,
        skip_authentication: bool,
        skip_authorization: bool,
    ) -> Result<(), Refusal> {
        let state = self.store.snapshot();
        let name = caller.username.filter(|n| !n.is_empty());
        let authn = || -> Result<(), String> {
            if !self.settings.authentication || skip_authentication {
                return Ok(());
            }
            let Some(name) = name else {
                return Err("username cannot be null (the request is not signed).".into());
            };
            let Some(user) = state.user(name) else {
                return Err(format!("User:{name} is not found."));
            };
            if user.user_status == UserStatus::Disable {
                return Err(format!("User:{name} is disabled."));
            }
            if !(caller.signed_with)(&user.password) {
                return Err(format!("check signature failed for User:{name}."));
            }
            Ok(())
        };
        let authz = || -> Result<(), String> {
            if !self.settings.authorization || skip_authorization {
                return Ok(());
            }
            let needed = needed?;
            if needed.is_empty() {
                return Ok(());
            }
            let Some(name) = name else {
                return Err("the request names no user.".into());
            };
            let Some(user) = state.user(name) else {
                return Err(format!("User:{name} not found."));
            };
            if user.user_status == UserStatus::Disable {
                return Err(format!("User:{name} is disabled."));
            }
            if user.user_type == UserType::Super {
                return Ok(());
            }
            let acl = state.acl(&user_subject(name));
            for (resource, actions) in &needed {
                let entry = acl.and_then(|a| a.decide(resource, actions, peer));
                let detail = match entry.map(|e| e.decision) {
                    Some(Decision::Allow) => continue,
                    Some(Decision::Deny) => "the decision is deny.",
                    None => "no matched policies.",
                };
                let wanted: Vec<&str> = actions.iter().map(|a| a.name()).collect();
                return Err(format!(
                    "User:{name} has no permission to access {} ({}) from {peer}, {detail}",
                    resource.key(),
                    wanted.join("|")
                ));
            }
            Ok(())
        };
        let (authentication, reason) = match authn() {
            Err(r) => (true, r),
            Ok(()) => match authz() {
                Err(r) => (false, r),
                Ok(()) => return Ok(()),
            },
        };
        self.refused(authentication, what, peer, &reason);
        Err(Refusal {
            authentication,
            message: format!(
                "{} refused {what} from {peer}: {reason}",
                if authentication {
                    "Authentication"
                } else {
                    "Authorization"
                }
            ),
        })
    }

    /// Counts a refusal made outside [`Auth::check`] (and logs it, rate-limited).
    pub fn refused(&self, authentication: bool, what: &str, peer: IpAddr, reason: &str) {
        let counter = if authentication {
            &self.refused_authentication
        } else {
            &self.refused_authorization
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if self.may_log() {
            tracing::warn!(request = %what, %peer, stage = if authentication { "authentication" } else { "authorization" }, %reason, "ACL 2.0 refused a request");
        }
    }
}
