//! Rooms. Connecting is not implemented yet, so a connect attempt is
//! answered at once with a callback that says so: the SDKs turn that into
//! their ordinary connect error instead of a failed request.

use super::async_id;
use crate::proto;
use crate::server::FfiServer;

/// `ConnectRequest`: fails through its callback, as a refused connection would.
pub fn connect(server: &FfiServer, request: proto::ConnectRequest) -> proto::ConnectResponse {
    let async_id = async_id(server, request.request_async_id);
    log::warn!(
        "connect to {} refused: rooms are not supported yet",
        request.url
    );
    server.send_event(proto::ffi_event::Message::Connect(proto::ConnectCallback {
        async_id,
        message: Some(proto::connect_callback::Message::Error(
            "not connected: this build cannot join rooms yet".into(),
        )),
    }));
    proto::ConnectResponse { async_id }
}
