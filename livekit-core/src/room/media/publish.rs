//! Publishing our tracks: AddTrack, then a sender on the publisher PC and
//! a renegotiation; mute; unpublish; who may subscribe.

use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use proto::signal_request::Message as Request;
use tokio::sync::oneshot;

use super::{LocalPublication, send};
use crate::audio::codec::EncodeOptions;
use crate::room::error::RoomError;
use crate::room::events::RoomEvent;
use crate::room::session::Session;
use crate::track::LocalAudioTrack;
use crate::transport::AudioSenderOptions;

/// How long the server gets to confirm an AddTrack.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Bitrate when the host names none, as the official client's default.
pub const DEFAULT_AUDIO_BITRATE: u32 = 48_000;

/// How an audio track is published.
#[derive(Debug, Clone)]
pub struct AudioPublishOptions {
    /// Where the audio comes from, as the signal protocol's `TrackSource`.
    pub source: i32,
    /// Discontinuous transmission: send (almost) nothing in silence.
    pub dtx: bool,
    /// Let the server use redundant encoding (RED) for this track.
    pub red: bool,
    /// Encode two channels.
    pub stereo: bool,
    /// Target Opus bitrate; 0 for the default.
    pub bitrate_bps: u32,
    /// Stream name the track is grouped under.
    pub stream: String,
    /// End-to-end encryption, as the signal protocol's `Encryption.Type`.
    pub encryption: i32,
}

impl Default for AudioPublishOptions {
    fn default() -> Self {
        Self {
            source: proto::TrackSource::Microphone as i32,
            dtx: true,
            red: true,
            stereo: false,
            bitrate_bps: DEFAULT_AUDIO_BITRATE,
            stream: String::new(),
            encryption: 0,
        }
    }
}

/// Who may subscribe to our tracks, for one participant.
#[derive(Debug, Clone, Default)]
pub struct TrackPermission {
    /// The participant.
    pub identity: String,
    /// Every track, present and future.
    pub all_tracks: bool,
    /// Otherwise, these track SIDs.
    pub track_sids: Vec<String>,
}

impl Session {
    /// Publish `track`. The AddTrack request is queued before this returns,
    /// so it reaches the server after any request the host made earlier;
    /// the future resolves to the server's description once the sender is
    /// in place. Negotiation runs in the background, and the
    /// `LocalTrackPublished` event follows.
    pub(crate) fn publish_audio(
        self: &Arc<Self>,
        track: Arc<LocalAudioTrack>,
        options: AudioPublishOptions,
    ) -> impl Future<Output = Result<proto::TrackInfo, RoomError>> + Send + 'static + use<> {
        let started = self.begin_publish(&track, &options);
        let session = self.clone();
        async move {
            let (cid, confirmed) = started?;
            session.finish_publish(track, options, cid, confirmed).await
        }
    }

    /// Checks the track, registers the wait for the server's confirmation
    /// and queues AddTrack.
    fn begin_publish(
        &self,
        track: &Arc<LocalAudioTrack>,
        options: &AudioPublishOptions,
    ) -> Result<(String, oneshot::Receiver<proto::TrackInfo>), RoomError> {
        if self.is_closed() {
            return Err(RoomError::Closed);
        }
        let cid = track.common().sid().to_owned();
        let published = self
            .media
            .local
            .lock()
            .values()
            .any(|p| Arc::ptr_eq(&p.track, track));
        if published {
            return Err(RoomError::Invalid("this track is already published".into()));
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut publishing = self.media.publishing.lock();
            if publishing.contains_key(&cid) {
                return Err(RoomError::Invalid("this track is being published".into()));
            }
            publishing.insert(cid.clone(), tx);
        }
        let mut features = Vec::new();
        if options.stereo {
            features.push(proto::AudioTrackFeature::TfStereo as i32);
        }
        if !options.dtx {
            features.push(proto::AudioTrackFeature::TfNoDtx as i32);
        }
        let e2ee = options.encryption != 0;
        // The server still reads the deprecated `disable_dtx` and `stereo`
        // fields, and the official client still fills them.
        #[allow(deprecated)]
        let request = proto::AddTrackRequest {
            cid: cid.clone(),
            name: track.common().name().to_owned(),
            r#type: proto::TrackType::Audio as i32,
            muted: track.common().is_muted(),
            disable_dtx: !options.dtx,
            source: options.source,
            stereo: options.stereo,
            disable_red: e2ee || !options.red,
            encryption: options.encryption,
            stream: options.stream.clone(),
            audio_features: features,
            ..Default::default()
        };
        self.queue_signal(Request::AddTrack(request));
        Ok((cid, rx))
    }

    /// Waits for the server's confirmation, then adds the sender and starts
    /// encoding.
    async fn finish_publish(
        self: &Arc<Self>,
        track: Arc<LocalAudioTrack>,
        options: AudioPublishOptions,
        cid: String,
        confirmed: oneshot::Receiver<proto::TrackInfo>,
    ) -> Result<proto::TrackInfo, RoomError> {
        let info = match tokio::time::timeout(PUBLISH_TIMEOUT, confirmed).await {
            Ok(Ok(info)) => info,
            Ok(Err(_)) => return Err(RoomError::Closed),
            Err(_) => {
                self.media.publishing.lock().remove(&cid);
                return Err(RoomError::Timeout(
                    "the server did not confirm the track in 10 s".into(),
                ));
            }
        };
        let local_sid = self.state.lock().local.sid.clone();
        let sender = self
            .publisher
            .add_audio_sender(AudioSenderOptions {
                track_id: cid.clone(),
                stream_id: format!("{local_sid}|{cid}"),
                stereo: options.stereo,
            })
            .await?;
        let bitrate = if options.bitrate_bps == 0 {
            DEFAULT_AUDIO_BITRATE
        } else {
            options.bitrate_bps
        };
        let encoder = send::start(
            track.clone(),
            sender.clone(),
            EncodeOptions {
                channels: if options.stereo { 2 } else { 1 },
                bitrate_bps: bitrate,
                dtx: options.dtx,
            },
        )
        .map_err(|err| RoomError::Invalid(format!("cannot encode audio: {err}")))?;
        self.media.local.lock().insert(
            info.sid.clone(),
            LocalPublication {
                info: info.clone(),
                track,
                options,
                sender,
                encoder,
            },
        );
        self.renegotiate_in_background();
        self.emit([RoomEvent::LocalTrackPublished {
            track: info.clone(),
        }]);
        Ok(info)
    }

    /// Stop publishing the track with server SID `sid`.
    pub(crate) async fn unpublish(self: &Arc<Self>, sid: &str) -> Result<(), RoomError> {
        let publication = self
            .media
            .local
            .lock()
            .remove(sid)
            .ok_or_else(|| RoomError::Invalid(format!("no published track {sid}")))?;
        let LocalPublication {
            sender, encoder, ..
        } = publication;
        drop(encoder);
        if let Err(err) = self.publisher.remove_audio_sender(&sender).await {
            log::warn!("sender of {sid} not removed: {err}");
        }
        self.emit([RoomEvent::LocalTrackUnpublished {
            sid: sid.to_owned(),
        }]);
        if !self.is_closed() {
            self.renegotiate_in_background();
        }
        Ok(())
    }

    /// Unpublish everything, as leaving does; publishes still waiting for
    /// the server fail.
    pub(crate) async fn unpublish_all(self: &Arc<Self>) {
        self.media.publishing.lock().clear();
        let sids: Vec<String> = self.media.local.lock().keys().cloned().collect();
        for sid in sids {
            let _ = self.unpublish(&sid).await;
        }
    }

    /// Mute or unmute one of our tracks, found by its local track; tells
    /// the server and reports the change. A track that is not published
    /// only changes its own state.
    pub(crate) async fn set_local_muted(&self, track: &Arc<LocalAudioTrack>, muted: bool) {
        let changed = track.common().set_muted(muted);
        let sid = self
            .media
            .local
            .lock()
            .iter()
            .find(|(_, p)| Arc::ptr_eq(&p.track, track))
            .map(|(sid, _)| sid.clone());
        let Some(sid) = sid else {
            return;
        };
        if !changed {
            return;
        }
        self.queue_signal(Request::Mute(proto::MuteTrackRequest {
            sid: sid.clone(),
            muted,
        }));
        self.emit_local_mute(sid, muted);
    }

    /// The server muted or unmuted one of our tracks.
    pub(crate) fn on_server_mute(&self, sid: &str, muted: bool) {
        let track = self.media.local.lock().get(sid).map(|p| p.track.clone());
        if let Some(track) = track
            && track.common().set_muted(muted)
        {
            self.emit_local_mute(sid.to_owned(), muted);
        }
    }

    fn emit_local_mute(&self, sid: String, muted: bool) {
        let identity = self.state.lock().local.identity.clone();
        self.emit([if muted {
            RoomEvent::TrackMuted { identity, sid }
        } else {
            RoomEvent::TrackUnmuted { identity, sid }
        }]);
    }

    /// The server confirmed an AddTrack.
    pub(crate) fn on_track_published(&self, response: proto::TrackPublishedResponse) {
        let waiter = self.media.publishing.lock().remove(&response.cid);
        match (waiter, response.track) {
            (Some(waiter), Some(info)) => {
                let _ = waiter.send(info);
            }
            _ => log::debug!("unexpected TrackPublished for {}", response.cid),
        }
    }

    /// Our published tracks' server SIDs with the local track behind each.
    pub(crate) fn local_publications(&self) -> Vec<(proto::TrackInfo, Arc<LocalAudioTrack>)> {
        self.media
            .local
            .lock()
            .values()
            .map(|p| (p.info.clone(), p.track.clone()))
            .collect()
    }

    /// Our publications with what publishing each again needs.
    pub(crate) fn republishable(
        &self,
    ) -> Vec<(proto::TrackInfo, Arc<LocalAudioTrack>, AudioPublishOptions)> {
        self.media
            .local
            .lock()
            .values()
            .map(|p| (p.info.clone(), p.track.clone(), p.options.clone()))
            .collect()
    }

    /// Statistics of the sender of a published track.
    pub(crate) async fn local_track_stats(
        &self,
        track: &Arc<LocalAudioTrack>,
    ) -> Option<Vec<crate::transport::StatsEntry>> {
        let sender = self
            .media
            .local
            .lock()
            .values()
            .find(|p| Arc::ptr_eq(&p.track, track))
            .map(|p| p.sender.clone())?;
        Some(sender.stats().await)
    }

    /// Replace who may subscribe to our tracks.
    pub(crate) fn set_track_permissions(
        &self,
        all_participants: bool,
        permissions: Vec<TrackPermission>,
    ) {
        let track_permissions = permissions
            .into_iter()
            .map(|p| proto::TrackPermission {
                participant_identity: p.identity,
                all_tracks: p.all_tracks,
                track_sids: p.track_sids,
                ..Default::default()
            })
            .collect();
        self.queue_signal(Request::SubscriptionPermission(
            proto::SubscriptionPermission {
                all_participants,
                track_permissions,
            },
        ));
    }

    /// Renegotiate the publisher without making the caller wait for the
    /// answer, as the official client does after a track change.
    fn renegotiate_in_background(self: &Arc<Self>) {
        let session = self.clone();
        tokio::spawn(async move {
            if let Err(err) = session.negotiate_publisher(true).await
                && !session.is_closed()
            {
                log::warn!("publisher renegotiation failed: {err}");
            }
        });
    }
}
