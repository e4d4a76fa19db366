//! Joining: the signal connection, then the peer connections, then a wait
//! for the primary one to connect. Retried on failures a new attempt can
//! fix (a dropped socket), not on ones it cannot (a rejected token).

use std::sync::Arc;

use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalOptions, SignalSdkOptions};
use tokio::sync::mpsc;

use super::data::{LOSSY_LABEL, RELIABLE_LABEL};
use super::error::RoomError;
use super::events::{ConnectionState, RoomEvent};
use super::options::RoomOptions;
use super::session::{DEFAULT_DC_THRESHOLD, Session};
use super::state::RoomState;
use crate::transport::{DataChannelOptions, IceServer, PeerTransport, Target, TransportConfig};

/// The signal protocol version the livekit 1.2.0 wheel's library speaks.
/// Version 18 changes how data channels are set up.
const PROTOCOL_VERSION: u32 = 17;

/// Join, retrying up to `options.join_retries` times. The first events
/// are `ConnectionStateChanged(Connected)` and the room's SID.
pub(crate) async fn join(
    url: &str,
    token: &str,
    options: &RoomOptions,
) -> Result<(Arc<Session>, mpsc::UnboundedReceiver<RoomEvent>), RoomError> {
    let mut attempt = 0;
    loop {
        // A stream per attempt: a failed one reports its close in its own.
        let (tx, events) = mpsc::unbounded_channel();
        let joined = join_once(url, token, options, tx, false)
            .await
            .and_then(|session| {
                // The SID may still be unknown (the server sends it in a
                // RoomUpdate then, which reports it); never announce an empty
                // one.
                let sid = session.state.lock().room.sid.clone();
                let sid = (!sid.is_empty()).then_some(RoomEvent::RoomSidChanged(sid));
                session.release_events(
                    std::iter::once(RoomEvent::ConnectionStateChanged(
                        ConnectionState::Connected,
                    ))
                    .chain(sid),
                );
                // The server may have dropped the session before it was ours
                // (see `Session::request_rejoin`): then join again.
                if session.is_closed() {
                    Err(RoomError::Closed)
                } else {
                    Ok(session)
                }
            });
        match joined {
            Ok(session) => return Ok((session, events)),
            Err(err) if attempt < options.join_retries && retryable(&err) => {
                attempt += 1;
                log::warn!("join attempt {attempt} failed, retrying: {err}");
            }
            Err(err) => return Err(err),
        }
    }
}

/// A bad URL or token, or a refusal by the server, will not get better by
/// trying again; a dropped socket or a slow transport might.
pub(super) fn retryable(err: &RoomError) -> bool {
    matches!(
        err,
        RoomError::Signal(_) | RoomError::Transport(_) | RoomError::Timeout(_) | RoomError::Closed
    )
}

fn signal_options(options: &RoomOptions) -> SignalOptions {
    let mut sdk = SignalSdkOptions::default();
    sdk.sdk = options.sdk.clone();
    sdk.sdk_version = Some(options.sdk_version.clone());
    let mut signal = SignalOptions::default();
    signal.auto_subscribe = options.auto_subscribe;
    signal.adaptive_stream = options.adaptive_stream;
    signal.sdk_options = sdk;
    signal.single_peer_connection = false;
    signal.connect_timeout = options.connect_timeout;
    signal.protocol_version = PROTOCOL_VERSION;
    signal
}

fn ice_servers(options: &RoomOptions, join: &proto::JoinResponse) -> Vec<IceServer> {
    if !options.ice_servers.is_empty() {
        return options.ice_servers.clone();
    }
    join.ice_servers
        .iter()
        .map(|s| IceServer {
            urls: s.urls.clone(),
            username: s.username.clone(),
            credential: s.credential.clone(),
        })
        .collect()
}

/// One join, reporting into `events`; they are held back until the
/// caller releases them (see [`Session::release_events`]). A full
/// reconnect passes the room's stream and `quiet`, so that a failed
/// attempt closes its session without reporting a disconnect there.
pub(super) async fn join_once(
    url: &str,
    token: &str,
    options: &RoomOptions,
    events: mpsc::UnboundedSender<RoomEvent>,
    quiet: bool,
) -> Result<Arc<Session>, RoomError> {
    let (signal, join, signal_events) =
        SignalClient::connect(url, token, signal_options(options), None).await?;
    let config = TransportConfig {
        ice_servers: super::ice::resolve_stun(ice_servers(options, &join)).await,
        relay_only: options.relay_only,
        ..Default::default()
    };
    let (transport_tx, transport_rx) = mpsc::unbounded_channel();
    let publisher =
        PeerTransport::new(Target::Publisher, config.clone(), transport_tx.clone()).await;
    let subscriber = PeerTransport::new(Target::Subscriber, config, transport_tx).await;
    let (publisher, subscriber) = match (publisher, subscriber) {
        (Ok(p), Ok(s)) => (p, s),
        (Err(err), _) | (_, Err(err)) => {
            signal.close().await;
            return Err(err.into());
        }
    };
    let channels = async {
        let reliable = publisher
            .create_data_channel(
                RELIABLE_LABEL,
                DataChannelOptions {
                    ordered: true,
                    max_retransmits: None,
                },
            )
            .await?;
        let lossy = publisher
            .create_data_channel(
                LOSSY_LABEL,
                DataChannelOptions {
                    ordered: false,
                    max_retransmits: Some(0),
                },
            )
            .await?;
        Ok::<_, RoomError>((reliable, lossy))
    };
    let (reliable, lossy) = match channels.await {
        Ok(pair) => pair,
        Err(err) => {
            signal.close().await;
            publisher.close().await;
            subscriber.close().await;
            return Err(err);
        }
    };
    reliable.set_buffered_amount_low_threshold(DEFAULT_DC_THRESHOLD);
    lossy.set_buffered_amount_low_threshold(DEFAULT_DC_THRESHOLD);

    let state = RoomState::from_join(&join);
    let session = Session::new(
        signal,
        publisher,
        subscriber,
        state,
        events,
        reliable.clone(),
        lossy.clone(),
    );
    session
        .resume
        .configure(options.ice_servers.clone(), options.relay_only);
    session.spawn_channel_reader(reliable);
    session.spawn_channel_reader(lossy);
    session.spawn_transport_task(transport_rx);
    session.spawn_signal_task(signal_events);
    session.start_data_tracks(&join);

    let primary = if join.subscriber_primary {
        Target::Subscriber
    } else {
        Target::Publisher
    };
    if primary == Target::Publisher || join.fast_publish {
        if let Err(err) = session.negotiate_publisher(false).await {
            abandon(&session, quiet).await;
            return Err(err);
        }
    } else {
        // Negotiate the publisher now, off the join path, so the first
        // data packet finds its channel open.
        let eager = session.clone();
        tokio::spawn(async move {
            if let Err(err) = eager.negotiate_publisher(false).await {
                log::debug!("eager publisher negotiation failed: {err}");
            }
        });
    }
    if let Err(err) = session.wait_connected(primary).await {
        abandon(&session, quiet).await;
        return Err(err);
    }
    Ok(session)
}

/// Close a session whose join failed; `quiet` when it reports into a
/// stream that outlives it.
async fn abandon(session: &Arc<Session>, quiet: bool) {
    if quiet {
        session.retire().await;
    } else {
        session
            .close(proto::DisconnectReason::JoinFailure as i32, true)
            .await;
    }
}
