import CZeroMQ

/// A CURVE key pair in Z85 text (40 characters each), as `ZMQ_CURVE_*` options and ``ZAPHandler``
/// take them. http://api.zeromq.org/4-3:zmq-curve
public struct CurveKeyPair: Sendable, Hashable {
    public let publicKey: String
    public let secretKey: String

    /// A pair from known keys (e.g. loaded from configuration); not checked here.
    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh random key pair (`zmq_curve_keypair`). Throws `ENOTSUP` if libzmq has no CURVE.
    /// http://api.zeromq.org/4-3:zmq-curve-keypair
    public static func generate() throws -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        if zmq_curve_keypair(&publicKey, &secretKey) != 0 {
            throw ZMQError.last("zmq_curve_keypair")
        }
        return CurveKeyPair(publicKey: z85String(publicKey), secretKey: z85String(secretKey))
    }

    /// The public key of a Z85 secret key (`zmq_curve_public`), e.g. to check a configured pair.
    /// Throws `EINVAL` if `secret` is not 40 Z85 characters. http://api.zeromq.org/4-3:zmq-curve-public
    public static func publicKey(forSecret secret: String) throws -> String {
        guard secret.utf8.count == 40, Z85.decode(secret) != nil else {
            throw ZMQError(code: EINVAL, operation: "zmq_curve_public")
        }
        var publicKey = [CChar](repeating: 0, count: 41)
        if zmq_curve_public(&publicKey, secret) != 0 {
            throw ZMQError.last("zmq_curve_public")
        }
        return z85String(publicKey)
    }
}

private func z85String(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Z85 (https://rfc.zeromq.org/spec/32/), the text form of CURVE keys.
enum Z85 {
    /// Encodes bytes whose count is a multiple of 4 (`zmq_z85_encode`); nil otherwise.
    static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var text = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        guard zmq_z85_encode(&text, bytes, bytes.count) != nil else { return nil }
        return z85String(text)
    }

    /// Decodes text whose length is a multiple of 5 (`zmq_z85_decode`); nil if it is not Z85.
    static func decode(_ text: String) -> [UInt8]? {
        let count = text.utf8.count
        guard count % 5 == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: count * 4 / 5)
        guard zmq_z85_decode(&bytes, text) != nil else { return nil }
        return bytes
    }
}
