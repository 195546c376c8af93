/// One ZeroMQ message: its frames, in order, plus what libzmq told us about it on receipt.
public struct Message: Sendable, Hashable {
    /// The frames (a one-frame message has one element; empty frames are kept).
    public var frames: [[UInt8]]
    /// ZAP `User-Id` metadata of the sending peer (`zmq_msg_gets(msg, "User-Id")`), when the ZAP
    /// handler that admitted the peer's connection named a user (see ``ZAPHandler``). It is taken from
    /// whichever received frame carries it (a ROUTER's routing-id frame may not). Not sent.
    /// http://api.zeromq.org/4-3:zmq-msg-gets
    public var userID: String?
    /// The sending peer's CURVE public key (Z85), as ``ZAPHandler`` reported it in the ZAP metadata
    /// property ``ZAPHandler/keyProperty`` when it admitted the connection. With ``userID`` it lets a server
    /// check, message by message, that the key is still allowed after the list changed. Not sent.
    public var curveKey: String?
    /// True when the sender sent more frames than the receiver's `maxFrames`: those were read and
    /// discarded. Not sent.
    public var truncated: Bool

    /// A message of `frames`.
    public init(_ frames: [[UInt8]]) {
        self.frames = frames
        self.userID = nil
        self.curveKey = nil
        self.truncated = false
    }

    /// A message of one frame per string, each its UTF-8 bytes.
    public init(strings: [String]) {
        self.init(strings.map { Array($0.utf8) })
    }

    /// Every frame decoded as UTF-8 (invalid bytes become U+FFFD).
    public var strings: [String] {
        frames.map { String(decoding: $0, as: UTF8.self) }
    }
}
