import Dispatch
import Synchronization
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The console's terminal: raw mode through termios (keys arrive one at a time, unechoed), the window size
/// through `TIOCGWINSZ`, the alternate screen, and whole writes. Whatever `enterRawMode()` changed,
/// `restore()` puts back; the console calls it on every way out (a key, SIGINT, SIGTERM, SIGHUP, an error).
///
/// Ctrl-C stays a signal (`ISIG` is kept) so that the console restores the terminal in its signal path;
/// Ctrl-Z is disabled, because a console stopped in raw mode would leave the shell unusable.
/// https://man7.org/linux/man-pages/man3/termios.3.html
public final class Terminal {
    public let input: Int32
    public let output: Int32
    private var saved: termios?

    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) {
        self.input = input
        self.output = output
    }

    /// True when both descriptors are terminals.
    public var isInteractive: Bool { isatty(input) == 1 && isatty(output) == 1 }

    /// Raw input, the alternate screen and a hidden cursor. Throws the `errno` of `tcgetattr`/`tcsetattr`.
    public func enterRawMode() throws(WatchError) {
        var t = termios()
        guard tcgetattr(input, &t) == 0 else { throw WatchError("tcgetattr: \(String(cString: strerror(errno)))") }
        saved = t
        t.c_lflag &= ~tcflag_t(ICANON | ECHO | IEXTEN)
        t.c_iflag &= ~tcflag_t(IXON | ICRNL | BRKINT | INPCK | ISTRIP)
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
            cc[Int(VSUSP)] = 0  // _POSIX_VDISABLE: no Ctrl-Z
        }
        guard tcsetattr(input, TCSAFLUSH, &t) == 0 else {
            saved = nil
            throw WatchError("tcsetattr: \(String(cString: strerror(errno)))")
        }
        write(Self.enterScreen)
    }

    /// Puts back the terminal as it was before `enterRawMode()`. Idempotent.
    public func restore() {
        guard var t = saved else { return }
        write(Self.leaveScreen)
        _ = tcsetattr(input, TCSAFLUSH, &t)
        saved = nil
    }

    /// Columns and rows of the window, or nil when the output is not a terminal.
    public func size() -> (columns: Int, rows: Int)? {
        var ws = winsize()
        let rc = withUnsafeMutablePointer(to: &ws) { ioctl(output, UInt(TIOCGWINSZ), $0) }
        guard rc == 0, ws.ws_col > 0, ws.ws_row > 0 else { return nil }
        return (Int(ws.ws_col), Int(ws.ws_row))
    }

    /// Writes all of `text`, retrying short writes and `EINTR`; gives up silently when the terminal is gone.
    public func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return 0 }
                return systemWrite(output, base + offset, buffer.count - offset)
            }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EINTR || errno == EAGAIN) {
                continue
            } else {
                return
            }
        }
    }

    /// What can be read from the input now (call when the poller says it is readable); nil at end of input.
    public func readAvailable() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n > 0 { return Array(buffer.prefix(n)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return [] }
            return nil
        }
    }

    /// Alternate screen, hidden cursor, clear.
    static let enterScreen = "\u{1B}[?1049h\u{1B}[?25l\u{1B}[2J"
    /// Visible cursor, normal colours, main screen.
    static let leaveScreen = "\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l"

    /// Screen output that writes `lines` over `previous`: only the lines that changed, each from its own row,
    /// so that the screen does not flicker and never scrolls.
    static func frame(_ lines: [String], previous: [String]?) -> String {
        var out = previous == nil ? "\u{1B}[2J" : ""
        for (i, line) in lines.enumerated() where previous == nil || i >= previous!.count || previous![i] != line {
            out += "\u{1B}[\(i + 1);1H\u{1B}[0m" + line + "\u{1B}[0m\u{1B}[K"
        }
        return out
    }
}

/// `write(2)`, which `Terminal.write(_:)` hides.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, bytes, count)
    #else
    Darwin.write(fd, bytes, count)
    #endif
}

/// Turns SIGINT, SIGTERM, SIGHUP (stop) and SIGWINCH (the window changed) into flags, and wakes the console's
/// poll, so that the console itself restores the terminal and closes its sockets. The signals are ignored
/// while it is installed (their handling moves to dispatch sources) and get their default action back on
/// `cancel()`.
final class SignalMonitor {
    final class Flags: Sendable {
        let stop = Atomic<Int32>(0)
        let resized = Atomic<Bool>(false)
    }

    static let stopSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    let flags = Flags()
    private var sources: [DispatchSourceSignal] = []

    init(wake: WakeUp) {
        let flags = self.flags
        for sig in Self.stopSignals + [SIGWINCH] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if sig == SIGWINCH {
                    flags.resized.store(true, ordering: .releasing)
                } else {
                    flags.stop.store(sig, ordering: .releasing)
                }
                wake.signal()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The stop signal received, if any.
    var stopSignal: Int32? {
        let s = flags.stop.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// True once per window change.
    func takeResized() -> Bool { flags.resized.exchange(false, ordering: .acquiringAndReleasing) }

    func cancel() {
        for s in sources { s.cancel() }
        sources = []
        for sig in Self.stopSignals + [SIGWINCH] { signal(sig, SIG_DFL) }
    }
}
