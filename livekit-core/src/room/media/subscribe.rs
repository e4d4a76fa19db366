//! Subscriptions: tracks the server adds to the subscriber PC, matched to
//! the publications they carry, and their ends.
//!
//! LiveKit names each track it forwards by the publication's SID, with
//! `<participant SID>|<track SID>` as the stream id. A track can arrive
//! before the participant update that announces its publication (the
//! server batches updates), so unmatched tracks wait, and every update
//! retries them; the events keep the order the SDKs rely on, publication
//! first.

use std::sync::Arc;
use std::time::Instant;

use livekit_protocol as proto;
use proto::signal_request::Message as Request;

use super::{PUBLICATION_WAIT, PendingTrack, RemoteSubscription, receive};
use crate::audio::source::NativeAudioSource;
use crate::room::error::RoomError;
use crate::room::events::RoomEvent;
use crate::room::session::Session;
use crate::track::RemoteAudioTrack;
use crate::transport::{MediaKind, RemoteTrack, StatsEntry};

impl Session {
    /// The subscriber PC got a track.
    pub(crate) fn on_remote_track(self: &Arc<Self>, track: RemoteTrack) {
        if track.kind() != MediaKind::Audio {
            log::warn!(
                "track {} is video, which this library does not receive yet",
                track.track_id()
            );
            return;
        }
        if let Some(track) = self.try_attach(track) {
            self.media.pending.lock().push(PendingTrack {
                track,
                since: Instant::now(),
            });
        }
    }

    /// Match waiting tracks again, after the room learnt of publications;
    /// fail those that waited too long.
    pub(crate) fn retry_pending_tracks(self: &Arc<Self>) {
        let waiting = std::mem::take(&mut *self.media.pending.lock());
        for pending in waiting {
            match self.try_attach(pending.track) {
                None => {}
                Some(track) if pending.since.elapsed() < PUBLICATION_WAIT => {
                    self.media.pending.lock().push(PendingTrack {
                        track,
                        since: pending.since,
                    });
                }
                Some(track) => {
                    let (participant_sid, sid) = names_of(&track);
                    let identity = self
                        .state
                        .lock()
                        .identity_of_sid(&participant_sid)
                        .unwrap_or_default()
                        .to_owned();
                    self.emit([RoomEvent::TrackSubscriptionFailed {
                        identity,
                        sid,
                        error: "no publication was announced for this track".into(),
                    }]);
                }
            }
        }
    }

    /// Start receiving `track` if its publication is known; gives it back
    /// otherwise.
    fn try_attach(self: &Arc<Self>, track: RemoteTrack) -> Option<RemoteTrack> {
        let (participant_sid, sid) = names_of(&track);
        let state = self.state.lock();
        let publisher = state
            .remotes()
            .iter()
            .find(|p| p.sid == participant_sid || p.tracks.iter().any(|t| t.sid == sid));
        let Some((identity, info)) = publisher.and_then(|p| {
            let info = p.tracks.iter().find(|t| t.sid == sid)?;
            Some((p.identity.clone(), info.clone()))
        }) else {
            return Some(track);
        };
        let channels = if is_stereo(&info) { 2 } else { 1 };
        let source = match NativeAudioSource::new(
            receive::PLAYOUT_RATE,
            channels,
            0,
            tokio::runtime::Handle::current(),
        ) {
            Ok(source) => source,
            Err(err) => {
                log::error!("no source for track {sid}: {err}");
                return None;
            }
        };
        let remote = RemoteAudioTrack::new(sid.clone(), info.name.clone(), source);
        remote.common().set_muted(info.muted);
        let session = Arc::downgrade(self);
        let transport = track.clone();
        let task = {
            let remote = remote.clone();
            let sid = sid.clone();
            tokio::spawn(async move {
                receive::run(remote, track, channels).await;
                if let Some(session) = session.upgrade() {
                    session.end_subscription(&sid);
                }
            })
            .abort_handle()
        };
        if let Some(old) = self.media.remote.lock().insert(
            sid.clone(),
            RemoteSubscription {
                identity: identity.clone(),
                track: remote.clone(),
                transport,
                task,
            },
        ) {
            old.task.abort();
            old.track.end();
        }
        // Emitted under the state lock, so no update about this participant
        // can be reported between the match and the event.
        self.emit([RoomEvent::TrackSubscribed {
            identity,
            info,
            track: remote,
        }]);
        drop(state);
        None
    }

    /// A subscription is over: stop receiving and report it once.
    pub(crate) fn end_subscription(&self, sid: &str) {
        let Some(subscription) = self.media.remote.lock().remove(sid) else {
            return;
        };
        subscription.task.abort();
        subscription.track.end();
        self.emit([RoomEvent::TrackUnsubscribed {
            identity: subscription.identity,
            sid: sid.to_owned(),
        }]);
    }

    /// Put `TrackUnsubscribed` before each `TrackUnpublished` of a track
    /// we receive, and keep remote tracks' mute state current. Called with
    /// the events of a participant update before they are emitted.
    pub(crate) fn with_media_events(&self, events: Vec<RoomEvent>) -> Vec<RoomEvent> {
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            match &event {
                RoomEvent::TrackUnpublished { sid, .. } => {
                    if let Some(subscription) = self.media.remote.lock().remove(sid) {
                        subscription.task.abort();
                        subscription.track.end();
                        out.push(RoomEvent::TrackUnsubscribed {
                            identity: subscription.identity,
                            sid: sid.clone(),
                        });
                    }
                }
                RoomEvent::TrackMuted { sid, .. } | RoomEvent::TrackUnmuted { sid, .. } => {
                    let muted = matches!(event, RoomEvent::TrackMuted { .. });
                    if let Some(subscription) = self.media.remote.lock().get(sid) {
                        subscription.track.common().set_muted(muted);
                    }
                }
                _ => {}
            }
            out.push(event);
        }
        out
    }

    /// Subscribe to or unsubscribe from a remote publication. Unsubscribing
    /// ends the subscription at once.
    pub(crate) fn set_subscribed(&self, sid: &str, subscribe: bool) -> Result<(), RoomError> {
        let participant_sid = {
            let state = self.state.lock();
            state
                .remotes()
                .iter()
                .find(|p| p.tracks.iter().any(|t| t.sid == sid))
                .map(|p| p.sid.clone())
                .ok_or_else(|| RoomError::Invalid(format!("no remote publication {sid}")))?
        };
        self.queue_signal(Request::Subscription(proto::UpdateSubscription {
            track_sids: vec![sid.to_owned()],
            subscribe,
            participant_tracks: vec![proto::ParticipantTracks {
                participant_sid,
                track_sids: vec![sid.to_owned()],
            }],
        }));
        if !subscribe {
            self.end_subscription(sid);
        }
        Ok(())
    }

    /// Ask the server to pause or resume forwarding a publication.
    pub(crate) fn set_publication_enabled(&self, sid: &str, enabled: bool) {
        self.queue_signal(Request::TrackSetting(proto::UpdateTrackSettings {
            track_sids: vec![sid.to_owned()],
            disabled: !enabled,
            ..Default::default()
        }));
    }

    /// A subscribed track by SID.
    pub(crate) fn remote_track(&self, sid: &str) -> Option<Arc<RemoteAudioTrack>> {
        self.media.remote.lock().get(sid).map(|s| s.track.clone())
    }

    /// Statistics of a subscribed track: the transport's RTP entries, with
    /// the playout counters (concealment, buffer delay, energy) from our
    /// decoder, which the transport cannot know.
    pub(crate) async fn remote_track_stats(&self, sid: &str) -> Option<Vec<StatsEntry>> {
        let (transport, track) = {
            let remote = self.media.remote.lock();
            let subscription = remote.get(sid)?;
            (subscription.transport.clone(), subscription.track.clone())
        };
        let mut entries = transport.stats().await;
        let played = track.stats();
        for entry in &mut entries {
            if let StatsEntry::InboundRtp {
                jitter_buffer_delay,
                jitter_buffer_emitted_count,
                jitter_buffer_target_delay,
                total_samples_received,
                concealed_samples,
                concealment_events,
                audio_level,
                total_audio_energy,
                total_samples_duration,
                decoder_implementation,
                ..
            } = entry
            {
                *jitter_buffer_delay = played.jitter_buffer_delay;
                *jitter_buffer_emitted_count = played.jitter_buffer_emitted_count;
                // W3C: the sum of the target over emitted samples.
                *jitter_buffer_target_delay =
                    played.jitter_buffer_target_delay * played.jitter_buffer_emitted_count as f64;
                *total_samples_received = played.total_samples_received;
                *concealed_samples = played.concealed_samples;
                *concealment_events = played.concealment_events;
                *audio_level = played.audio_level;
                *total_audio_energy = played.total_audio_energy;
                *total_samples_duration = played.total_samples_duration;
                *decoder_implementation = "libopus".into();
            }
        }
        Some(entries)
    }

    /// Stop every receiver, as leaving does. No events: the room is over.
    pub(crate) fn stop_subscriptions(&self) {
        self.media.pending.lock().clear();
        for (_, subscription) in self.media.remote.lock().drain() {
            subscription.task.abort();
            subscription.track.end();
        }
    }
}

/// The participant SID and track SID LiveKit encodes in a track's ids.
fn names_of(track: &RemoteTrack) -> (String, String) {
    let stream = track.stream_id();
    let (participant, from_stream) = match stream.split_once('|') {
        Some((participant, track)) => (participant.to_owned(), track.to_owned()),
        None => (stream.to_owned(), String::new()),
    };
    let id = track.track_id();
    let sid = if id.starts_with("TR_") || from_stream.is_empty() {
        id.to_owned()
    } else {
        from_stream
    };
    (participant, sid)
}

/// Whether a publication carries two channels: the feature list says so
/// on current servers, the deprecated flag on older ones.
fn is_stereo(info: &proto::TrackInfo) -> bool {
    #[allow(deprecated)]
    let flag = info.stereo;
    flag || info
        .audio_features
        .contains(&(proto::AudioTrackFeature::TfStereo as i32))
}
