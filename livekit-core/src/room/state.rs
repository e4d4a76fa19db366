//! The room model: who is in the room and what they publish, and the
//! events that follow from each server update.
//!
//! This is pure bookkeeping with no I/O, so the rules that the SDKs depend
//! on can be tested directly: a participant is announced before anything
//! names it, a track is announced before its mute state changes, and a
//! participant's tracks are unpublished before it is reported gone.

use std::collections::HashMap;

use livekit_protocol as proto;
use proto::participant_info::State as ParticipantState;

use super::events::RoomEvent;

/// Everything the room knows, as of the last server message.
#[derive(Debug, Clone, Default)]
pub struct RoomState {
    /// The room itself.
    pub room: proto::Room,
    /// Us.
    pub local: proto::ParticipantInfo,
    /// Everyone else, in join order.
    remotes: Vec<proto::ParticipantInfo>,
    /// The active speakers with their last levels, loudest first, to report
    /// only changes.
    speakers: Vec<(String, f32)>,
}

impl RoomState {
    /// State right after the JoinResponse. The participants already in the
    /// room are part of the connect result and get no events.
    pub fn from_join(join: &proto::JoinResponse) -> Self {
        Self {
            room: join.room.clone().unwrap_or_default(),
            local: join.participant.clone().unwrap_or_default(),
            remotes: join
                .other_participants
                .iter()
                .filter(|p| p.state != ParticipantState::Disconnected as i32)
                .cloned()
                .collect(),
            speakers: Vec::new(),
        }
    }

    /// Remote participants in join order.
    pub fn remotes(&self) -> &[proto::ParticipantInfo] {
        &self.remotes
    }

    /// A remote participant by identity.
    pub fn remote(&self, identity: &str) -> Option<&proto::ParticipantInfo> {
        self.remotes.iter().find(|p| p.identity == identity)
    }

    /// The identity behind a participant SID, local or remote.
    pub fn identity_of_sid(&self, sid: &str) -> Option<&str> {
        if self.local.sid == sid {
            return Some(&self.local.identity);
        }
        self.remotes
            .iter()
            .find(|p| p.sid == sid)
            .map(|p| p.identity.as_str())
    }

    /// Whether `identity` is us or a participant we know.
    pub fn knows(&self, identity: &str) -> bool {
        self.local.identity == identity || self.remote(identity).is_some()
    }

    /// Apply a `ParticipantUpdate` and return the events it implies.
    pub fn apply_participant_update(&mut self, infos: &[proto::ParticipantInfo]) -> Vec<RoomEvent> {
        let mut events = Vec::new();
        for info in infos {
            if info.sid == self.local.sid || info.identity == self.local.identity {
                self.update_local(info, &mut events);
            } else {
                self.update_remote(info, &mut events);
            }
        }
        if !infos.is_empty() {
            events.push(RoomEvent::ParticipantsUpdated(infos.to_vec()));
        }
        events
    }

    fn update_local(&mut self, info: &proto::ParticipantInfo, events: &mut Vec<RoomEvent>) {
        if info.version != 0 && info.version < self.local.version {
            return;
        }
        // Our own tracks' mute changes are reported by the media layer when
        // they happen, not when the server echoes them.
        let old = std::mem::replace(&mut self.local, info.clone());
        diff_fields(&old, info, events);
    }

    fn update_remote(&mut self, info: &proto::ParticipantInfo, events: &mut Vec<RoomEvent>) {
        let index = self
            .remotes
            .iter()
            .position(|p| p.identity == info.identity);
        let disconnected = info.state == ParticipantState::Disconnected as i32;
        match (index, disconnected) {
            (None, true) => {}
            (None, false) => {
                let mut announced = info.clone();
                announced.tracks.clear();
                self.remotes.push(info.clone());
                events.push(RoomEvent::ParticipantConnected(announced));
                for track in &info.tracks {
                    events.push(RoomEvent::TrackPublished {
                        identity: info.identity.clone(),
                        track: track.clone(),
                    });
                }
                if info.state == ParticipantState::Active as i32 {
                    events.push(RoomEvent::ParticipantActive(info.identity.clone()));
                }
            }
            (Some(i), true) => {
                let gone = self.remotes.remove(i);
                for track in &gone.tracks {
                    events.push(RoomEvent::TrackUnpublished {
                        identity: gone.identity.clone(),
                        sid: track.sid.clone(),
                    });
                }
                self.speakers.retain(|(s, _)| *s != gone.identity);
                events.push(RoomEvent::ParticipantDisconnected {
                    identity: gone.identity,
                    reason: info.disconnect_reason,
                });
            }
            (Some(i), false) => {
                let old = &self.remotes[i];
                if old.sid != info.sid && !old.sid.is_empty() {
                    // A new session under the same identity: the old one
                    // is gone even if the server never said so.
                    let old = self.remotes.remove(i);
                    for track in &old.tracks {
                        events.push(RoomEvent::TrackUnpublished {
                            identity: old.identity.clone(),
                            sid: track.sid.clone(),
                        });
                    }
                    events.push(RoomEvent::ParticipantDisconnected {
                        identity: old.identity,
                        reason: proto::DisconnectReason::DuplicateIdentity as i32,
                    });
                    self.update_remote(info, events);
                    return;
                }
                if info.version != 0 && info.version < old.version {
                    return;
                }
                let old = std::mem::replace(&mut self.remotes[i], info.clone());
                diff_fields(&old, info, events);
                diff_tracks(&old, info, events);
                diff_mutes(&old, info, events);
                if old.state != ParticipantState::Active as i32
                    && info.state == ParticipantState::Active as i32
                {
                    events.push(RoomEvent::ParticipantActive(info.identity.clone()));
                }
            }
        }
    }

    /// Apply a `RoomUpdate`.
    pub fn apply_room_update(&mut self, room: &proto::Room) -> Vec<RoomEvent> {
        let mut events = Vec::new();
        let old = std::mem::replace(&mut self.room, room.clone());
        if old.metadata != room.metadata {
            events.push(RoomEvent::RoomMetadataChanged(room.metadata.clone()));
        }
        if old.sid != room.sid && !room.sid.is_empty() {
            events.push(RoomEvent::RoomSidChanged(room.sid.clone()));
        }
        events.push(RoomEvent::RoomUpdated(room.clone()));
        events
    }

    /// Apply a `SpeakersChanged`: the server sends only the participants
    /// whose state changed, so the full list is kept here.
    pub fn apply_speakers(&mut self, speakers: &[proto::SpeakerInfo]) -> Vec<RoomEvent> {
        let mut levels: HashMap<String, f32> = self.speakers.iter().cloned().collect();
        for speaker in speakers {
            let Some(identity) = self.identity_of_sid(&speaker.sid).map(str::to_owned) else {
                continue;
            };
            if speaker.active {
                levels.insert(identity, speaker.level);
            } else {
                levels.remove(&identity);
            }
        }
        // Loudest first; ties broken by identity so the order is stable.
        let mut next: Vec<(String, f32)> = levels.into_iter().collect();
        next.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let changed = next.len() != self.speakers.len()
            || next.iter().zip(&self.speakers).any(|(n, o)| n.0 != o.0);
        self.speakers = next;
        if !changed {
            return Vec::new();
        }
        let identities = self
            .speakers
            .iter()
            .map(|(identity, _)| identity.clone())
            .collect();
        vec![RoomEvent::ActiveSpeakersChanged(identities)]
    }

    /// Apply a `ConnectionQualityUpdate`.
    pub fn apply_quality(&self, updates: &[proto::ConnectionQualityInfo]) -> Vec<RoomEvent> {
        updates
            .iter()
            .filter_map(|u| {
                let identity = self.identity_of_sid(&u.participant_sid)?;
                Some(RoomEvent::ConnectionQualityChanged {
                    identity: identity.to_owned(),
                    quality: u.quality,
                })
            })
            .collect()
    }
}

/// Metadata, name, attributes and permission changes.
fn diff_fields(
    old: &proto::ParticipantInfo,
    new: &proto::ParticipantInfo,
    events: &mut Vec<RoomEvent>,
) {
    let identity = &new.identity;
    if old.metadata != new.metadata {
        events.push(RoomEvent::ParticipantMetadataChanged {
            identity: identity.clone(),
            metadata: new.metadata.clone(),
        });
    }
    if old.name != new.name {
        events.push(RoomEvent::ParticipantNameChanged {
            identity: identity.clone(),
            name: new.name.clone(),
        });
    }
    let mut changed = HashMap::new();
    for (key, value) in &new.attributes {
        if old.attributes.get(key) != Some(value) {
            changed.insert(key.clone(), value.clone());
        }
    }
    for key in old.attributes.keys() {
        if !new.attributes.contains_key(key) {
            changed.insert(key.clone(), String::new());
        }
    }
    if !changed.is_empty() {
        events.push(RoomEvent::ParticipantAttributesChanged {
            identity: identity.clone(),
            attributes: new.attributes.clone(),
            changed,
        });
    }
    if old.permission != new.permission && old.permission.is_some() {
        events.push(RoomEvent::ParticipantPermissionChanged {
            identity: identity.clone(),
            permission: new.permission.clone(),
        });
    }
}

/// Tracks that appeared or disappeared.
fn diff_tracks(
    old: &proto::ParticipantInfo,
    new: &proto::ParticipantInfo,
    events: &mut Vec<RoomEvent>,
) {
    for track in &new.tracks {
        if !old.tracks.iter().any(|t| t.sid == track.sid) {
            events.push(RoomEvent::TrackPublished {
                identity: new.identity.clone(),
                track: track.clone(),
            });
        }
    }
    for track in &old.tracks {
        if !new.tracks.iter().any(|t| t.sid == track.sid) {
            events.push(RoomEvent::TrackUnpublished {
                identity: new.identity.clone(),
                sid: track.sid.clone(),
            });
        }
    }
}

/// Mute changes of tracks present before and after.
fn diff_mutes(
    old: &proto::ParticipantInfo,
    new: &proto::ParticipantInfo,
    events: &mut Vec<RoomEvent>,
) {
    for track in &new.tracks {
        let Some(before) = old.tracks.iter().find(|t| t.sid == track.sid) else {
            continue;
        };
        if before.muted != track.muted {
            let identity = new.identity.clone();
            let sid = track.sid.clone();
            events.push(if track.muted {
                RoomEvent::TrackMuted { identity, sid }
            } else {
                RoomEvent::TrackUnmuted { identity, sid }
            });
        }
    }
}

#[cfg(test)]
mod tests;
