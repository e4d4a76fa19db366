//! Resuming a session instead of closing it (brief §5 "Reconnection").
//!
//! When the signal WebSocket drops, a peer connection fails or the server
//! sends `Leave{RESUME}`, the room keeps its participants, tracks and
//! handles and gets its connections back: the signal client reconnects with
//! `reconnect=1`, we send `SyncState`, ICE-restart the publisher, answer the
//! server's ICE-restart offer for the subscriber (the ordinary offer path in
//! `session.rs`), and wait for both peer connections. Published audio keeps
//! its sender through all of this, so it flows again as soon as ICE does.
//!
//! One episode runs at a time; the triggers that arrive while it runs (the
//! old socket's own close, a PC failing meanwhile) are absorbed by it,
//! because each attempt checks the socket and waits for the PCs itself.
//! Up to [`MAX_ATTEMPTS`] attempts with the official library's backoff;
//! when none succeeds the room closes with the reason that started it.
//!
//! A server that no longer knows us answers with `Leave{RECONNECT}`: the
//! episode then hands over to the full reconnect of `live.rs`, which
//! replaces the session.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::SignalError;
use parking_lot::Mutex;
use proto::signal_request::Message as Request;
use tokio::sync::Notify;

use super::events::{ConnectionState, RoomEvent};
use super::session::{PC_CONNECT_TIMEOUT, Session};
use crate::transport::{DataChannel, IceServer, PcState, Target, TransportConfig};

/// Attempts per episode, as the official library.
pub(super) const MAX_ATTEMPTS: u32 = 10;

/// Time the restarted connections get before we look at their state: an
/// ICE restart passes through checking, and the server's Update of who is
/// in the room follows its ReconnectResponse.
const SETTLE: Duration = Duration::from_secs(1);

/// Longest delay between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(7);

/// What started an episode: it picks the reason reported to the server and
/// the reason the room closes with if the episode fails.
#[derive(Debug, Clone, Copy)]
pub(super) enum ResumeCause {
    /// The signal socket closed or stopped answering pings.
    SignalLost,
    /// A peer connection failed.
    PeerFailed(Target),
    /// The server sent `Leave{RESUME}` with this `DisconnectReason`.
    ServerLeave(i32),
}

impl ResumeCause {
    fn reconnect_reason(self) -> proto::ReconnectReason {
        match self {
            ResumeCause::SignalLost => proto::ReconnectReason::RrSignalDisconnected,
            ResumeCause::PeerFailed(Target::Publisher) => proto::ReconnectReason::RrPublisherFailed,
            ResumeCause::PeerFailed(Target::Subscriber) => {
                proto::ReconnectReason::RrSubscriberFailed
            }
            ResumeCause::ServerLeave(_) => proto::ReconnectReason::RrUnknown,
        }
    }

    /// The reason the room closed with before resuming existed, kept for
    /// when the episode gives up.
    fn close_reason(self) -> i32 {
        match self {
            ResumeCause::SignalLost => proto::DisconnectReason::SignalClose as i32,
            ResumeCause::PeerFailed(_) => proto::DisconnectReason::StateMismatch as i32,
            ResumeCause::ServerLeave(reason) => reason,
        }
    }
}

/// Why one attempt did not bring the session back.
#[derive(Debug)]
enum AttemptError {
    /// Another attempt may succeed.
    Retry(String),
    /// None will: close the room with this reason.
    Fatal { reason: i32, why: String },
    /// The server lost our session: only a new join brings the room back.
    Rejoin { reason: i32 },
    /// The room was closed meanwhile.
    Closed,
}

/// What the session keeps for resuming.
#[derive(Default)]
pub(crate) struct ResumeState {
    /// An episode is running.
    active: AtomicBool,
    /// Cuts the current backoff short (a server Leave during an episode).
    kick: Notify,
    /// Identities the server listed since the episode started, to drop the
    /// participants that left while we could not hear it.
    seen: Mutex<Option<HashSet<String>>>,
    /// Channels the server opened on the subscriber PC, for `SyncState`.
    subscriber_channels: Mutex<Vec<proto::DataChannelInfo>>,
    /// ICE servers the host gave (which win over the server's) and the
    /// relay-only policy, to rebuild the ICE configuration on resume.
    ice: Mutex<(Vec<IceServer>, bool)>,
}

impl ResumeState {
    /// Remember the host's ICE settings (from the room options).
    pub(super) fn configure(&self, ice_servers: Vec<IceServer>, relay_only: bool) {
        *self.ice.lock() = (ice_servers, relay_only);
    }

    /// Whether an episode is running.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Note the participants of a server Update.
    pub(super) fn note_seen(&self, participants: &[proto::ParticipantInfo]) {
        if let Some(seen) = self.seen.lock().as_mut() {
            seen.extend(participants.iter().map(|p| p.identity.clone()));
        }
    }

    /// Note a channel the server opened on the subscriber PC.
    pub(super) fn note_subscriber_channel(&self, channel: &DataChannel) {
        if let Some(id) = channel.id() {
            self.subscriber_channels
                .lock()
                .push(proto::DataChannelInfo {
                    label: channel.label(),
                    id: u32::from(id),
                    target: proto::SignalTarget::Subscriber as i32,
                });
        }
    }
}

/// A random delay in `[0, min(7 s, 300 ms · 2^(retry−1))]`, as the official
/// library waits before its `retry`-th retry. Random so that the clients of
/// a failed server do not all come back at once.
pub(super) fn backoff(retry: u32) -> Duration {
    let cap = Duration::from_millis(300)
        .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    // A splitmix64 step over the clock: no need for a real generator.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        .wrapping_add(u64::from(retry).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut z = seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let fraction = (z >> 11) as f64 / (1u64 << 53) as f64;
    cap.mul_f64(fraction)
}

/// Sort a failed `restart` into worth retrying or not.
fn classify(err: SignalError) -> AttemptError {
    use proto::leave_request::Action;
    match err {
        SignalError::LeaveRequest { reason, action } => match action {
            Action::Resume => AttemptError::Retry("the server asked to resume again".into()),
            Action::Disconnect => AttemptError::Fatal {
                reason: reason as i32,
                why: "the server refused the resume".into(),
            },
            Action::Reconnect => AttemptError::Rejoin {
                reason: reason as i32,
            },
        },
        SignalError::Client(status, _) if matches!(status.as_u16(), 401 | 403) => {
            AttemptError::Fatal {
                reason: proto::DisconnectReason::JoinFailure as i32,
                why: format!("the server refused our token: {status}"),
            }
        }
        SignalError::TokenFormat | SignalError::UrlParse(_) => AttemptError::Fatal {
            reason: proto::DisconnectReason::JoinFailure as i32,
            why: err.to_string(),
        },
        other => AttemptError::Retry(other.to_string()),
    }
}

impl Session {
    /// Start an episode unless one is running or the room is closed. A
    /// server Leave during an episode cuts its backoff short instead.
    pub(super) fn start_resume(self: &Arc<Self>, cause: ResumeCause) {
        if self.is_closed() {
            return;
        }
        if self.resume.active.swap(true, Ordering::AcqRel) {
            log::debug!("already resuming; {cause:?} joins the episode");
            if matches!(cause, ResumeCause::ServerLeave(_)) {
                self.resume.kick.notify_one();
            }
            return;
        }
        let session = self.clone();
        tokio::spawn(async move { session.run_episode(cause).await });
    }

    async fn run_episode(self: Arc<Self>, cause: ResumeCause) {
        log::warn!("connection lost ({cause:?}); resuming the session");
        *self.resume.seen.lock() = Some(HashSet::new());
        self.emit([
            RoomEvent::ConnectionStateChanged(ConnectionState::Reconnecting),
            RoomEvent::Reconnecting,
        ]);
        for attempt in 1..=MAX_ATTEMPTS {
            if attempt > 1 {
                let delay = backoff(attempt - 1);
                let mut closed = self.closed_watch();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = self.resume.kick.notified() => {}
                    _ = closed.wait_for(|c| *c) => {}
                }
            }
            if self.is_closed() {
                break;
            }
            match self.resume_once(cause).await {
                Ok(()) => {
                    self.drop_unseen_participants();
                    self.resume.active.store(false, Ordering::Release);
                    log::info!("session resumed after {attempt} attempt(s)");
                    self.emit([
                        RoomEvent::ConnectionStateChanged(ConnectionState::Connected),
                        RoomEvent::Reconnected,
                    ]);
                    return;
                }
                Err(AttemptError::Retry(why)) => {
                    log::warn!("resume attempt {attempt}/{MAX_ATTEMPTS} failed: {why}");
                }
                Err(AttemptError::Fatal { reason, why }) => {
                    log::warn!("cannot resume: {why}; closing the room");
                    self.end_episode(reason).await;
                    return;
                }
                Err(AttemptError::Rejoin { reason }) => {
                    // The episode stays active: the full reconnect reads that
                    // as Reconnecting already reported.
                    log::warn!("the server no longer knows this session; joining again");
                    self.resume.seen.lock().take();
                    self.request_rejoin(reason).await;
                    return;
                }
                Err(AttemptError::Closed) => break,
            }
        }
        self.end_episode(cause.close_reason()).await;
    }

    async fn end_episode(self: &Arc<Self>, reason: i32) {
        self.resume.seen.lock().take();
        self.resume.active.store(false, Ordering::Release);
        if !self.is_closed() {
            log::warn!("the session could not be resumed; closing the room");
            self.close(reason, false).await;
        }
    }

    /// One attempt, in the official library's order.
    async fn resume_once(self: &Arc<Self>, cause: ResumeCause) -> Result<(), AttemptError> {
        // A negotiation still waiting for an answer the lost socket
        // dropped would hold the negotiation lock until its timeout; the
        // restart offer below supersedes its offer anyway.
        self.answer_waiter.lock().take();
        let response = self
            .signal
            .restart(cause.reconnect_reason())
            .await
            .map_err(classify)?;
        if self.is_closed() {
            // The room closed while the socket reopened: close it again.
            self.signal.close().await;
            return Err(AttemptError::Closed);
        }
        self.apply_ice_servers(&response.ice_servers).await;
        let sync = self.sync_state().await;
        self.send_signal(Request::SyncState(sync)).await;
        let restarted = self
            .restart_publisher_ice()
            .await
            .map_err(|err| AttemptError::Retry(format!("publisher ICE restart: {err}")))?;
        tokio::time::sleep(SETTLE).await;
        self.wait_resumed(Target::Subscriber, cause).await?;
        if restarted {
            self.wait_resumed(Target::Publisher, cause).await?;
        }
        if !self.signal.is_connected().await {
            return Err(AttemptError::Retry(
                "the signal connection dropped again".into(),
            ));
        }
        // Releases what the signal client held back meanwhile (mutes,
        // subscriptions, metadata).
        self.signal.set_reconnected().await;
        Ok(())
    }

    /// Use the ICE servers of the ReconnectResponse, unless the host gave
    /// its own. A refusal is logged: the old servers may still do.
    async fn apply_ice_servers(&self, servers: &[proto::IceServer]) {
        let (host_servers, relay_only) = self.resume.ice.lock().clone();
        if !host_servers.is_empty() || servers.is_empty() {
            return;
        }
        let servers = servers
            .iter()
            .map(|s| IceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect();
        let config = TransportConfig {
            ice_servers: super::ice::resolve_stun(servers).await,
            relay_only,
            ..Default::default()
        };
        for pc in [&self.publisher, &self.subscriber] {
            if let Err(err) = pc.set_ice_config(&config).await {
                log::warn!(
                    "new ICE servers not applied to the {:?}: {err}",
                    pc.target()
                );
            }
        }
    }

    /// What the server needs to carry on with our session: the subscriber
    /// descriptions, our published tracks and the data channels. The
    /// subscription exceptions stay empty: the server kept our
    /// subscriptions, and we do not track choices that differ from
    /// auto-subscribe beyond what it already applied.
    async fn sync_state(&self) -> proto::SyncState {
        let describe = |kind: &str, sdp: String| proto::SessionDescription {
            r#type: kind.into(),
            sdp,
            ..Default::default()
        };
        let offer = self
            .subscriber
            .remote_sdp()
            .await
            .map(|sdp| describe("offer", sdp));
        let answer = self
            .subscriber
            .local_sdp()
            .await
            .map(|sdp| describe("answer", sdp));
        let publish_tracks = self
            .local_publications()
            .into_iter()
            .map(|(info, track)| proto::TrackPublishedResponse {
                cid: track.common().sid().to_owned(),
                track: Some(info),
            })
            .collect();
        let mut data_channels: Vec<proto::DataChannelInfo> = [&self.reliable, &self.lossy]
            .into_iter()
            .filter_map(|channel| {
                Some(proto::DataChannelInfo {
                    label: channel.label(),
                    id: u32::from(channel.id()?),
                    target: proto::SignalTarget::Publisher as i32,
                })
            })
            .collect();
        data_channels.extend(self.resume.subscriber_channels.lock().iter().cloned());
        proto::SyncState {
            answer,
            offer,
            subscription: Some(proto::UpdateSubscription {
                track_sids: Vec::new(),
                subscribe: !self.signal.options().auto_subscribe,
                participant_tracks: Vec::new(),
            }),
            publish_tracks,
            data_channels,
            ..Default::default()
        }
    }

    /// Wait until a restarted peer connection is connected again. Unlike
    /// the join's wait, a failed state may still recover (the restart is
    /// what recovers it); a closed one cannot.
    async fn wait_resumed(&self, target: Target, cause: ResumeCause) -> Result<(), AttemptError> {
        let mut state = self.pc_state(target);
        let mut closed = self.closed_watch();
        let wait = async {
            loop {
                match *state.borrow_and_update() {
                    PcState::Connected => return Ok(()),
                    PcState::Closed if self.is_closed() => return Err(AttemptError::Closed),
                    PcState::Closed => {
                        return Err(AttemptError::Fatal {
                            reason: cause.close_reason(),
                            why: format!("the {target:?} peer connection is closed"),
                        });
                    }
                    _ => {}
                }
                tokio::select! {
                    changed = state.changed() => if changed.is_err() {
                        return Err(AttemptError::Closed);
                    },
                    _ = closed.wait_for(|c| *c) => return Err(AttemptError::Closed),
                }
            }
        };
        tokio::time::timeout(PC_CONNECT_TIMEOUT, wait)
            .await
            .map_err(|_| {
                AttemptError::Retry(format!(
                    "the {target:?} peer connection did not reconnect in 15 s"
                ))
            })?
    }

    /// Report as gone the participants the server did not list since the
    /// episode started: their leave was sent while we could not hear it.
    fn drop_unseen_participants(&self) {
        let Some(seen) = self.resume.seen.lock().take() else {
            return;
        };
        let count = self.drop_participants(|identity| !seen.contains(identity));
        if count > 0 {
            log::info!("{count} participant(s) left while we were reconnecting");
        }
    }

    /// Report the remote participants `gone` picks as disconnected, with
    /// their tracks unsubscribed and unpublished first; returns how many.
    pub(super) fn drop_participants(&self, gone: impl Fn(&str) -> bool) -> usize {
        let mut state = self.state.lock();
        let gone: Vec<proto::ParticipantInfo> = state
            .remotes()
            .iter()
            .filter(|p| gone(&p.identity))
            .map(|p| proto::ParticipantInfo {
                state: proto::participant_info::State::Disconnected as i32,
                disconnect_reason: proto::DisconnectReason::UnknownReason as i32,
                ..p.clone()
            })
            .collect();
        if gone.is_empty() {
            return 0;
        }
        let mut events = state.apply_participant_update(&gone);
        // Synthesized, not an update the server sent.
        events.retain(|e| !matches!(e, RoomEvent::ParticipantsUpdated(_)));
        let local = state.local.clone();
        self.emit(self.with_media_events(events));
        self.emit(self.data_tracks.apply_update(&gone, &local));
        gone.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_the_official_bounds() {
        for retry in 1..=12 {
            let cap = Duration::from_millis(300 * (1u64 << (retry - 1).min(16))).min(MAX_BACKOFF);
            for _ in 0..50 {
                assert!(backoff(retry) <= cap, "retry {retry}");
            }
        }
    }

    #[test]
    fn a_server_that_no_longer_knows_us_hands_over_to_a_new_join() {
        let err = classify(SignalError::LeaveRequest {
            reason: proto::DisconnectReason::StateMismatch,
            action: proto::leave_request::Action::Reconnect,
        });
        assert!(matches!(
            err,
            AttemptError::Rejoin { reason } if reason == proto::DisconnectReason::StateMismatch as i32
        ));
        let err = classify(SignalError::LeaveRequest {
            reason: proto::DisconnectReason::ServerShutdown,
            action: proto::leave_request::Action::Disconnect,
        });
        assert!(matches!(err, AttemptError::Fatal { .. }));
        assert!(matches!(
            classify(SignalError::Timeout("slow".into())),
            AttemptError::Retry(_)
        ));
    }

    #[test]
    fn causes_keep_the_reasons_rooms_closed_with() {
        assert_eq!(
            ResumeCause::SignalLost.close_reason(),
            proto::DisconnectReason::SignalClose as i32
        );
        assert_eq!(
            ResumeCause::PeerFailed(Target::Publisher).reconnect_reason(),
            proto::ReconnectReason::RrPublisherFailed
        );
        assert_eq!(ResumeCause::ServerLeave(3).close_reason(), 3);
    }
}
