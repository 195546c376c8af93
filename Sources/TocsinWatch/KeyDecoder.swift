/// A key the console acts on.
public enum WatchKey: Sendable, Hashable {
    case up, down
    /// `a`: acknowledge the selected warning.
    case acknowledgeWarning
    /// `s`: acknowledge the selected step.
    case acknowledgeStep
    /// `d`: mark the selected step done.
    case stepDone
    /// `q`, or Ctrl-C when the terminal does not turn it into SIGINT.
    case quit
}

/// Turns the bytes a terminal in raw mode sends into keys. Arrow keys arrive as escape sequences (`ESC [ A`, or
/// `ESC O A` in application cursor mode) that a read may split, so a partial sequence is kept for the next
/// `feed`. Unknown keys and sequences are ignored.
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// The keys in `bytes` (with what was left over from the last call).
    public mutating func feed(_ bytes: [UInt8]) -> [WatchKey] {
        var keys: [WatchKey] = []
        let input = pending + bytes
        pending = []
        var i = 0
        while i < input.count {
            let b = input[i]
            if b == 0x1B {
                // ESC, then `[` or `O`, then parameters (digits, `;`) and a final byte.
                guard i + 1 < input.count else {
                    pending = Array(input[i...])
                    break
                }
                let introducer = input[i + 1]
                guard introducer == UInt8(ascii: "[") || introducer == UInt8(ascii: "O") else {
                    i += 1  // a lone ESC (the Escape key): ignored
                    continue
                }
                var j = i + 2
                while j < input.count, (0x30...0x3F).contains(input[j]) { j += 1 }
                guard j < input.count else {
                    // An unfinished sequence; a runaway one (more than a few parameter bytes) is dropped.
                    if input.count - i <= 16 { pending = Array(input[i...]) }
                    break
                }
                switch input[j] {
                case UInt8(ascii: "A"): keys.append(.up)
                case UInt8(ascii: "B"): keys.append(.down)
                default: break
                }
                i = j + 1
                continue
            }
            switch b {
            case UInt8(ascii: "k"), UInt8(ascii: "K"): keys.append(.up)
            case UInt8(ascii: "j"), UInt8(ascii: "J"): keys.append(.down)
            case UInt8(ascii: "a"), UInt8(ascii: "A"): keys.append(.acknowledgeWarning)
            case UInt8(ascii: "s"), UInt8(ascii: "S"): keys.append(.acknowledgeStep)
            case UInt8(ascii: "d"), UInt8(ascii: "D"): keys.append(.stepDone)
            case UInt8(ascii: "q"), UInt8(ascii: "Q"), 0x03: keys.append(.quit)
            default: break
            }
            i += 1
        }
        return keys
    }
}
