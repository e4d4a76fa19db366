//! Trickle candidates: the JSON shape LiveKit signals, its translation to
//! and from the engine's, and the remote candidates held back until they
//! can be applied.
//!
//! The engine refuses a remote candidate while no remote description is
//! set, and a candidate that belongs to a restarted ICE generation must not
//! be applied before the answer that starts that generation. Signalling
//! does not order candidates after descriptions (the server trickles as
//! soon as it gathers), so [`Negotiation`] holds them and hands them back
//! once the description they need is in place.

use webrtc::peer_connection::RTCIceCandidateInit;

/// A trickled ICE candidate, in the JSON shape LiveKit puts in
/// `TrickleRequest.candidate_init`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IceCandidateInit {
    /// The `candidate:` attribute line (without `a=`).
    pub candidate: String,
    /// The media section id the candidate is for.
    #[serde(rename = "sdpMid", default)]
    pub sdp_mid: Option<String>,
    /// The media section index the candidate is for.
    #[serde(rename = "sdpMLineIndex", default)]
    pub sdp_mline_index: Option<u16>,
    /// ICE username fragment, when known.
    #[serde(
        rename = "usernameFragment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub username_fragment: Option<String>,
}

impl IceCandidateInit {
    /// The engine's form of this candidate.
    pub(crate) fn to_engine(&self) -> RTCIceCandidateInit {
        RTCIceCandidateInit {
            candidate: self.candidate.clone(),
            sdp_mid: self.sdp_mid.clone(),
            sdp_mline_index: self.sdp_mline_index,
            username_fragment: self.username_fragment.clone(),
            url: None,
        }
    }

    /// A local candidate from the engine, tagged with the media section it
    /// is sent for. The engine itself always says mid `""`, index 0; with
    /// BUNDLE every candidate belongs to the first section, so we name that
    /// section's mid as libwebrtc does.
    pub(crate) fn from_engine(init: RTCIceCandidateInit, first_mid: Option<String>) -> Self {
        Self {
            candidate: init.candidate,
            sdp_mid: Some(first_mid.unwrap_or_else(|| "0".to_owned())),
            sdp_mline_index: Some(0),
            username_fragment: None,
        }
    }

    /// Whether this is the end-of-candidates marker (an empty candidate),
    /// which carries nothing to apply.
    pub(crate) fn is_end_of_candidates(&self) -> bool {
        self.candidate.trim().is_empty()
    }
}

/// Offer/answer state that decides whether a remote candidate can be
/// applied now, and the candidates that could not.
///
/// Lives behind the transport's negotiation lock, so that checking it and
/// applying a candidate (or a description and the held candidates) happen
/// without a description change in between.
#[derive(Debug, Default)]
pub(crate) struct Negotiation {
    /// A remote description has been applied.
    pub remote_set: bool,
    /// We sent an ICE-restart offer and its answer has not been applied:
    /// candidates arriving now belong to the restarted generation.
    pub ice_restart_pending: bool,
    /// Candidates waiting for one of the above to change, in arrival order.
    held: Vec<IceCandidateInit>,
}

impl Negotiation {
    /// Whether a candidate arriving now must wait.
    pub fn must_hold(&self) -> bool {
        !self.remote_set || self.ice_restart_pending
    }

    /// Keep a candidate for later.
    pub fn hold(&mut self, candidate: IceCandidateInit) {
        self.held.push(candidate);
    }

    /// The held candidates, if they can be applied now; they are removed.
    pub fn take_ready(&mut self) -> Vec<IceCandidateInit> {
        if self.must_hold() {
            Vec::new()
        } else {
            std::mem::take(&mut self.held)
        }
    }

    /// How many candidates are held.
    #[cfg(test)]
    pub fn held_len(&self) -> usize {
        self.held.len()
    }
}

/// The `a=mid:` of the first media section of an SDP.
pub(crate) fn first_mid(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|line| line.trim_end().strip_prefix("a=mid:"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_livekits() {
        let c = IceCandidateInit {
            candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        };
        let json = serde_json::to_string(&c).expect("serialize");
        assert_eq!(
            json,
            r#"{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}"#
        );
        let back: IceCandidateInit = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, c);
    }

    #[test]
    fn holds_until_remote_description_and_restart_answer() {
        let mut n = Negotiation::default();
        assert!(n.must_hold());
        n.hold(IceCandidateInit::default());
        assert!(n.take_ready().is_empty());
        n.remote_set = true;
        assert_eq!(n.take_ready().len(), 1);
        n.ice_restart_pending = true;
        n.hold(IceCandidateInit::default());
        assert!(n.take_ready().is_empty());
        assert_eq!(n.held_len(), 1);
        n.ice_restart_pending = false;
        assert_eq!(n.take_ready().len(), 1);
        assert_eq!(n.held_len(), 0);
    }

    #[test]
    fn finds_first_mid() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a0\r\nm=application 9 x\r\na=mid:1\r\n";
        assert_eq!(first_mid(sdp).as_deref(), Some("a0"));
        assert_eq!(first_mid("v=0\r\n"), None);
    }
}
