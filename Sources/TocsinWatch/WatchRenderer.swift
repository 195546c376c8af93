import TocsinCore

/// What the status line says besides the board: the connection and the last action's outcome.
public struct WatchStatus: Sendable, Hashable {
    public enum Connection: Sendable, Hashable {
        /// No reply from the command endpoint yet.
        case connecting
        /// The last request was answered.
        case connected
        /// A request got no reply within the time-out; the console keeps trying.
        case noReply(seconds: Int)
    }

    public var connection: Connection
    /// The outcome of the last key action (or a notice), shown until the next one.
    public var message: String?
    /// Shows `message` as an error.
    public var messageIsError: Bool

    public init(connection: Connection = .connecting, message: String? = nil, messageIsError: Bool = false) {
        self.connection = connection
        self.message = message
        self.messageIsError = messageIsError
    }
}

/// The screen of `tocsin watch` as lines of text, from the board and the time: pure, so that tests check the
/// layout without a terminal. Every line fits `width` columns; ANSI colours only when `colour` is set.
///
/// Layout, top to bottom: the exercise banner (drill or test traffic), a title with the scope and the clock,
/// the warnings table, the tasks table, the status line and the key help. When the window is too short, each
/// table shows a window of its rows that keeps the selection in view.
public struct WatchRenderer: Sendable {
    public var width: Int
    /// Lines available; nil renders every row (the `--once` snapshot).
    public var height: Int?
    public var colour: Bool
    /// The offset from UTC of the clock in the title (seconds).
    public var utcOffsetSeconds: Int
    /// Shows the selection marker and the key help (off for `--once`).
    public var interactive: Bool

    public init(width: Int, height: Int?, colour: Bool, utcOffsetSeconds: Int = 0, interactive: Bool = true) {
        self.width = max(20, width)
        self.height = height.map { max(6, $0) }
        self.colour = colour
        self.utcOffsetSeconds = utcOffsetSeconds
        self.interactive = interactive
    }

    public static let keyHelp = "keys: up/down j/k select   a acknowledge warning   s acknowledge step   d step done   q quit"

    // MARK: - The screen

    /// The whole screen, one string per line, at most `height` lines.
    public func render(_ board: WatchBoard, status: WatchStatus, now: Timestamp) -> [String] {
        var top: [String] = []
        if board.scope.status != .actual {
            let text = board.scope.status == .exercise
                ? "EXERCISE - drill traffic only, not a real emergency" : "TEST - test traffic only, not a real emergency"
            top.append(styled(TextWidth.fit("  " + text, width), [.bold, .bannerBackground, .white]))
        }
        top.append(title(board, now: now))
        var bottom = [statusLine(board, status)]
        if interactive { bottom.append(styled(TextWidth.truncate(Self.keyHelp, to: width), [.dim])) }

        let rows = board.rows
        let selection = interactive ? board.selection(in: rows) : nil
        let warnings = board.sortedWarnings
        let tasks = board.sortedTasks
        let warningTable = warningsTable(warnings, selection: selection, now: now)
        let taskTable = tasksTable(tasks, board: board, selection: selection, now: now)
        // Two lines per table for its title and column header.
        let available = height.map { max(2, $0 - top.count - bottom.count - 4) }
        let (wShow, tShow) = Self.share(available, warnings: warningTable.rows.count, tasks: taskTable.rows.count)
        let wSelected = selection.flatMap { s in warnings.firstIndex { RowKey.warning(incident: $0.incident) == s } }
        let tSelected = selection.flatMap { s in tasks.firstIndex { RowKey.task(id: $0.id) == s } }

        var lines = top
        lines += section("Warnings", table: warningTable, show: wShow, selected: wSelected, empty: "no open warnings")
        lines += section("Tasks", table: taskTable, show: tShow, selected: tSelected, empty: "no open tasks")
        if let height {
            let room = height - bottom.count
            if lines.count > room { lines = Array(lines.prefix(room)) }
            while lines.count < room { lines.append("") }
        }
        return lines + bottom
    }

    /// How many rows each table shows in `available` lines (nil: all): each needs a line even when empty;
    /// the warnings get up to half, or more when the tasks need less.
    static func share(_ available: Int?, warnings: Int, tasks: Int) -> (Int, Int) {
        let w = max(1, warnings), t = max(1, tasks)
        guard let available, w + t > available else { return (w, t) }
        let shown = min(w, max(available / 2, available - t))
        return (max(1, shown), max(1, available - shown))
    }

    func title(_ board: WatchBoard, now: Timestamp) -> String {
        let left = "tocsin watch  \(board.scope.status.rawValue)  \(board.scope.summary)   "
            + "warnings \(board.warnings.count)  tasks \(board.tasks.count)"
        let right = clock(now)
        let gap = width - TextWidth.width(left) - TextWidth.width(right)
        let text = gap >= 2 ? left + String(repeating: " ", count: gap) + right : TextWidth.truncate(left, to: width)
        return styled(text, [.bold])
    }

    /// `2026-09-16 21:03:05 +08:00` at the renderer's offset.
    func clock(_ t: Timestamp) -> String {
        let c = t.civil(offsetSeconds: utcOffsetSeconds)
        let minutes = abs(utcOffsetSeconds) / 60
        let zone = (utcOffsetSeconds < 0 ? "-" : "+") + Self.two(minutes / 60) + ":" + Self.two(minutes % 60)
        return "\(c.year)-\(Self.two(c.month))-\(Self.two(c.day)) \(Self.two(c.hour)):\(Self.two(c.minute)):\(Self.two(c.second)) \(zone)"
    }

    func statusLine(_ board: WatchBoard, _ status: WatchStatus) -> String {
        var parts: [(String, [SGR])] = []
        parts.append(("feed seq \(board.feedSeq)" + (board.hasGap ? " (repairing a gap)" : ""), []))
        switch status.connection {
        case .connecting: parts.append(("connecting", [.yellow]))
        case .connected: parts.append(("connected", [.green]))
        case .noReply(let s): parts.append(("no reply from the command endpoint for \(s) s", [.bold, .red]))
        }
        if board.problems > 0 {
            parts.append(("\(board.problems) problem\(board.problems == 1 ? "" : "s"), last: \(board.lastProblem ?? "")", [.red]))
        }
        if let message = status.message {
            parts.append((message, status.messageIsError ? [.bold, .red] : [.bold]))
        }
        // Cut from the end: the action's outcome matters most, so it goes before the problems when short.
        var used = 0
        var out = ""
        let ordered = parts.count > 2 && status.message != nil
            ? Array(parts.prefix(2)) + [parts[parts.count - 1]] + Array(parts[2..<(parts.count - 1)]) : parts
        for (i, (text, codes)) in ordered.enumerated() {
            let separator = i == 0 ? "" : " | "
            let room = width - used - separator.count
            guard room > 0 else { break }
            let cut = TextWidth.truncate(TextWidth.sanitized(text), to: room)
            out += separator + styled(cut, codes)
            used += separator.count + TextWidth.width(cut)
        }
        return out
    }

    // MARK: - Tables

    func warningsTable(_ warnings: [Warning], selection: RowKey?, now: Timestamp) -> Table {
        var t = Table(columns: [
            .init(header: "", max: 1),
            .init(header: "TIER", max: 10),
            .init(header: "EVENT", max: 18),
            .init(header: "AREA", max: 28),
            .init(header: "LEVEL", max: 8, priority: 3),
            .init(header: "OWNER", max: 24, priority: 2),
            .init(header: "", max: 4),
            .init(header: "SENT", max: 8, right: true),
            .init(header: "ACK BY", max: 24),
            .init(header: "ID", max: 12, priority: 4),
            .init(header: "HEADLINE", max: 400, priority: 1, flexible: true),
        ])
        for w in warnings {
            let selected = selection == .warning(incident: w.incident)
            t.rows.append(Table.Row(selected: selected, cells: [
                Cell(selected ? ">" : " "),
                Cell("\(w.tier.rawValue) \(w.color)", tierStyle(w.tier)),
                Cell(w.event),
                Cell(w.area.rawValue),
                Cell(w.level.rawValue),
                Cell(w.owner.rawValue),
                Cell(w.escalated ? "^ESC" : "", [.bold, .magenta]),
                Cell(Self.age(now - w.sent)),
                w.acknowledgedBy.map { Cell($0.rawValue, [.green]) } ?? Cell("-", [.bold, .yellow]),
                Cell(w.id),
                Cell(w.headline),
            ]))
        }
        return t
    }

    func tasksTable(_ tasks: [PlanTask], board: WatchBoard, selection: RowKey?, now: Timestamp) -> Table {
        var t = Table(columns: [
            .init(header: "", max: 1),
            .init(header: "TIER", max: 10, priority: 5),
            .init(header: "PLAN", max: 18),
            .init(header: "STEP", max: 26),
            .init(header: "STATE", max: 12),
            .init(header: "DUE", max: 12, right: true),
            .init(header: "LEVEL", max: 8, priority: 3),
            .init(header: "OWNER", max: 24, priority: 2),
            .init(header: "", max: 4),
            .init(header: "BY", max: 24, priority: 4),
            .init(header: "ACTION", max: 400, priority: 1, flexible: true),
        ])
        for task in tasks {
            let selected = selection == .task(id: task.id)
            let late = task.state == .overdue || task.due < now
            let tier = board.tier(ofIncident: task.incident)
            t.rows.append(Table.Row(selected: selected, cells: [
                Cell(selected ? ">" : " "),
                tier.map { Cell("\($0.rawValue) \($0.color)", tierStyle($0)) } ?? Cell(""),
                Cell(task.plan),
                Cell(task.step),
                Cell(task.state.rawValue, late ? [.bold, .red] : task.state == .acknowledged ? [.green] : []),
                Cell(Self.due(task.due - now), late ? [.bold, .red] : []),
                Cell(task.level.rawValue),
                Cell(task.owner.rawValue),
                Cell(task.escalated ? "^ESC" : "", [.bold, .magenta]),
                Cell(task.by?.rawValue ?? "-"),
                Cell(task.action),
            ]))
        }
        return t
    }

    /// A titled table: its title with the count, the column header, then `show` rows around the selection.
    func section(_ name: String, table: Table, show: Int, selected: Int?, empty: String) -> [String] {
        let count = table.rows.count
        var offset = 0
        if count > show, let selected, selected >= show { offset = min(selected - show + 1, count - show) }
        let range = offset..<min(count, offset + show)
        let shown = count > show ? " (\(range.lowerBound + 1)-\(range.upperBound) of \(count))" : ""
        var lines = [styled(TextWidth.truncate("\(name): \(count)\(shown)", to: width), [.bold, .underline])]
        let widths = table.widths(fitting: width)
        lines.append(styled(table.line(table.columns.map { Cell($0.header) }, widths: widths, selected: false, colour: false), [.bold]))
        if count == 0 {
            lines.append(styled(TextWidth.truncate("  " + empty, to: width), [.dim]))
        }
        for row in table.rows[range] {
            lines.append(table.line(row.cells, widths: widths, selected: row.selected && interactive, colour: colour))
        }
        return lines
    }

    func tierStyle(_ tier: Tier) -> [SGR] {
        switch tier {
        case .iv: [.bold, .white, .blueBackground]
        case .iii: [.bold, .black, .yellowBackground]
        case .ii: [.bold, .black, .orangeBackground]
        case .i: [.bold, .white, .redBackground]
        }
    }

    func styled(_ text: String, _ codes: [SGR]) -> String {
        colour && !codes.isEmpty ? SGR.wrap(text, codes) : text
    }

    // MARK: - Times

    /// Time since something was sent: `45s`, `3m05s`, `1h02m`, `2d03h` (a time in the future reads `0s`).
    public static func age(_ seconds: Double) -> String {
        duration(max(0, seconds))
    }

    /// Time to a deadline: `in 12m30s`, or `late 3m05s` once it has passed.
    public static func due(_ seconds: Double) -> String {
        seconds >= 0 ? "in " + duration(seconds) : "late " + duration(-seconds)
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.down))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(two(s % 60))s" }
        if s < 86_400 { return "\(s / 3600)h\(two(s % 3600 / 60))m" }
        return "\(s / 86_400)d\(two(s % 86_400 / 3600))h"
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// ANSI Select Graphic Rendition codes the console uses.
enum SGR: String, Sendable {
    case bold = "1", dim = "2", underline = "4", reverse = "7"
    case black = "30", red = "31", green = "32", yellow = "33", magenta = "35", white = "97"
    case redBackground = "41", yellowBackground = "43", blueBackground = "44"
    /// 256-colour orange (208): the 16 basic colours have no orange.
    case orangeBackground = "48;5;208"
    case bannerBackground = "45"

    /// `text` in these codes, then back to normal.
    static func wrap(_ text: String, _ codes: [SGR]) -> String {
        "\u{1B}[" + codes.map(\.rawValue).joined(separator: ";") + "m" + text + "\u{1B}[0m"
    }
}

/// One table cell: its text (sanitised when rendered) and its style.
struct Cell: Sendable {
    var text: String
    var style: [SGR]
    init(_ text: String, _ style: [SGR] = []) {
        self.text = text
        self.style = style
    }
}

/// A table whose columns shrink to their content and drop by priority until a line fits the width.
struct Table: Sendable {
    struct Column: Sendable {
        var header: String
        /// The widest the column gets.
        var max: Int
        /// 0: always shown; otherwise dropped when the line is too wide, the highest number first.
        var priority: Int = 0
        var right: Bool = false
        /// Takes the width that is left (at least `Table.minimumFlexible`).
        var flexible: Bool = false
    }

    struct Row: Sendable {
        var selected: Bool
        var cells: [Cell]
    }

    static let separator = "  "
    static let minimumFlexible = 12

    var columns: [Column]
    var rows: [Row] = []

    /// Each column's width; 0 for a dropped column. Fits `width` unless the columns that are always shown
    /// do not, in which case the line is cut when written.
    func widths(fitting width: Int) -> [Int] {
        let natural = columns.enumerated().map { i, c in
            let content = rows.map { TextWidth.width(TextWidth.sanitized($0.cells[i].text)) }.max() ?? 0
            return min(c.max, max(TextWidth.width(c.header), content))
        }
        // A column with neither header nor content (no escalations) takes no room.
        var shown = columns.indices.map { natural[$0] > 0 }
        func total() -> Int {
            let indices = columns.indices.filter { shown[$0] }
            let sum = indices.reduce(0) { $0 + (columns[$1].flexible ? min(natural[$1], Self.minimumFlexible) : natural[$1]) }
            return sum + Self.separator.count * max(0, indices.count - 1)
        }
        let droppable = columns.indices.filter { columns[$0].priority > 0 }.sorted { columns[$0].priority > columns[$1].priority }
        for i in droppable where total() > width { shown[i] = false }
        var widths = columns.indices.map { shown[$0] ? natural[$0] : 0 }
        if let flex = columns.indices.first(where: { columns[$0].flexible && shown[$0] }) {
            let others = columns.indices.filter { shown[$0] && $0 != flex }
            let used = others.reduce(0) { $0 + widths[$1] } + Self.separator.count * others.count
            widths[flex] = max(0, min(natural[flex], width - used))
        }
        // Still too wide (a very narrow window): narrow the widest columns, one column at a time.
        func used() -> Int {
            let n = widths.filter { $0 > 0 }.count
            return widths.reduce(0, +) + Self.separator.count * max(0, n - 1)
        }
        var excess = used() - width
        while excess > 0, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }), widths[widest] > 1 {
            widths[widest] -= 1
            excess -= 1
        }
        return widths
    }

    /// One line of cells at `widths`, cut to the total width.
    func line(_ cells: [Cell], widths: [Int], selected: Bool, colour: Bool) -> String {
        var out = ""
        var first = true
        for (i, cell) in cells.enumerated() where widths[i] > 0 {
            let text = TextWidth.fit(TextWidth.sanitized(cell.text), widths[i], right: columns[i].right)
            let separator = first ? "" : Self.separator
            first = false
            if colour {
                let codes = cell.style + (selected ? [.reverse] : [])
                let gap = selected && !separator.isEmpty ? SGR.wrap(separator, [.reverse]) : separator
                out += gap + (codes.isEmpty ? text : SGR.wrap(text, codes))
            } else {
                out += separator + text
            }
        }
        return out
    }
}
