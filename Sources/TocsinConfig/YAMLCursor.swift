import Yams

/// A position in a parsed YAML document: the node, where it is and its key path. Reading through a cursor
/// reports type errors, unknown keys and missing keys with file, line and key into a shared `ProblemSink`.
package struct YAMLCursor {
    package let node: Node
    package let file: String
    package let key: String
    package let sink: ProblemSink

    package var line: Int { node.mark?.line ?? 1 }
    package var column: Int { node.mark?.column ?? 1 }

    package func problem(_ message: String, key: String? = nil, at node: Node? = nil) {
        let mark = (node ?? self.node).mark
        sink.add(ConfigProblem(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, key: key ?? self.key, message: message))
    }

    package func child(_ node: Node, key: String) -> YAMLCursor {
        YAMLCursor(node: node, file: file, key: key, sink: sink)
    }

    private func join(_ name: String) -> String { key.isEmpty ? name : "\(key).\(name)" }

    package var describedKind: String {
        switch node {
        case .scalar(let s): "\"\(s.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    // MARK: Mappings

    /// The entries of a mapping in document order; reports a problem and returns nil when this is not a mapping.
    package func entries() -> [(name: String, value: YAMLCursor)]? {
        guard case .mapping(let mapping) = node else {
            if case .scalar(let s) = node, s.string.isEmpty || s.tag.description.hasSuffix("null") { return [] }
            problem("expected a mapping, got \(describedKind)")
            return nil
        }
        var out: [(String, YAMLCursor)] = []
        for (k, v) in mapping {
            guard case .scalar(let ks) = k else {
                problem("keys must be plain text", at: k)
                continue
            }
            out.append((ks.string, child(v, key: join(ks.string))))
        }
        return out
    }

    /// A mapping read as named fields: unknown keys and missing required ones are reported.
    package func fields(allowed: Set<String>, required: Set<String> = []) -> Fields? {
        guard let list = entries() else { return nil }
        var map: [String: YAMLCursor] = [:]
        for (name, value) in list {
            if !allowed.contains(name) {
                let known = allowed.sorted().joined(separator: ", ")
                value.problem("unknown key (expected one of: \(known))", key: value.key, at: keyNode(named: name))
                continue
            }
            map[name] = value
        }
        for name in required.sorted() where map[name] == nil {
            problem("missing required key \"\(name)\"", key: join(name))
        }
        return Fields(cursor: self, map: map)
    }

    private func keyNode(named name: String) -> Node? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.keys.first { $0.scalar?.string == name }
    }

    // MARK: Sequences

    package func items() -> [YAMLCursor]? {
        guard case .sequence(let seq) = node else {
            problem("expected a list, got \(describedKind)")
            return nil
        }
        return seq.enumerated().map { child($1, key: "\(key)[\($0)]") }
    }

    // MARK: Scalars

    package func string() -> String? {
        guard case .scalar(let s) = node else {
            problem("expected text, got \(describedKind)")
            return nil
        }
        return s.string
    }

    package func nonEmptyString() -> String? {
        guard let s = string() else { return nil }
        if s.trimmingCharacters(in: .whitespaces).isEmpty {
            problem("must not be empty")
            return nil
        }
        return s
    }

    package func double() -> Double? {
        guard case .scalar(let s) = node, let d = Double(s.string), d.isFinite else {
            problem("expected a number, got \(describedKind)")
            return nil
        }
        return d
    }

    package func int() -> Int? {
        guard case .scalar(let s) = node, let i = Int(s.string) else {
            problem("expected a whole number, got \(describedKind)")
            return nil
        }
        return i
    }

    package func bool() -> Bool? {
        guard case .scalar(let s) = node else {
            problem("expected true or false, got \(describedKind)")
            return nil
        }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem("expected true or false, got \(describedKind)")
            return nil
        }
    }

    package func oneOf<T: RawRepresentable & CaseIterable>(_: T.Type) -> T? where T.RawValue == String {
        guard let s = string() else { return nil }
        if let v = T(rawValue: s) { return v }
        let names = T.allCases.map(\.rawValue).joined(separator: ", ")
        problem("unknown value \"\(s)\" (expected one of: \(names))")
        return nil
    }

    /// A duration such as `90s`, `5m`, `2h`, `1d` or a plain number of seconds.
    package func duration() -> Double? {
        guard let s = string() else { return nil }
        if let d = YAMLCursor.parseDuration(s) { return d }
        problem("expected a duration such as 30s, 5m, 2h or 1d, got \"\(s)\"")
        return nil
    }

    package static func parseDuration(_ s: String) -> Double? {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard let unit = t.last else { return nil }
        let scale: Double
        var number = Substring(t)
        switch unit {
        case "s": scale = 1; number = number.dropLast()
        case "m": scale = 60; number = number.dropLast()
        case "h": scale = 3600; number = number.dropLast()
        case "d": scale = 86400; number = number.dropLast()
        default: scale = 1
        }
        guard let v = Double(number), v.isFinite, v >= 0 else { return nil }
        return v * scale
    }
}

/// The named fields of a mapping, read through `YAMLCursor`.
package struct Fields {
    package let cursor: YAMLCursor
    package let map: [String: YAMLCursor]
    package subscript(name: String) -> YAMLCursor? { map[name] }
}

extension Node {
    var scalar: Scalar? {
        if case .scalar(let s) = self { return s }
        return nil
    }
}

import Foundation

/// Reads and composes one YAML file, reporting unreadable files and syntax errors as problems.
package func composeYAML(path: String, displayName: String, sink: ProblemSink) -> YAMLCursor? {
    guard let data = FileManager.default.contents(atPath: path) else {
        sink.add(ConfigProblem(file: displayName, line: 1, key: "", message: "cannot read file"))
        return nil
    }
    guard let text = String(data: data, encoding: .utf8) else {
        sink.add(ConfigProblem(file: displayName, line: 1, key: "", message: "not UTF-8 text"))
        return nil
    }
    return composeYAML(text: text, displayName: displayName, sink: sink)
}

package func composeYAML(text: String, displayName: String, sink: ProblemSink) -> YAMLCursor? {
    do {
        guard let node = try Yams.compose(yaml: text) else {
            sink.add(ConfigProblem(file: displayName, line: 1, key: "", message: "empty document"))
            return nil
        }
        return YAMLCursor(node: node, file: displayName, key: "", sink: sink)
    } catch let error as YamlError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            sink.add(ConfigProblem(file: displayName, line: mark.line, column: mark.column, key: "", message: "YAML syntax: \(problem)"))
        case .reader(let problem, let offset, _, let yaml):
            // libyaml's reader refuses some characters (controls such as NUL) before any token; it gives a byte
            // offset, not a line.
            let (line, column) = position(ofUTF8Offset: offset ?? 0, in: yaml)
            sink.add(ConfigProblem(file: displayName, line: line, column: column, key: "", message: "YAML syntax: \(problem)"))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let mark = context.mark
            sink.add(ConfigProblem(file: displayName, line: mark.line, column: mark.column, key: "",
                                   message: "duplicate key \(duplicates.joined(separator: ", "))"))
        default:
            sink.add(ConfigProblem(file: displayName, line: 1, key: "", message: "YAML: \(error)"))
        }
        return nil
    } catch {
        sink.add(ConfigProblem(file: displayName, line: 1, key: "", message: "YAML: \(error)"))
        return nil
    }
}

/// The 1-based line and column (in characters) of a byte offset into `text`'s UTF-8.
private func position(ofUTF8Offset offset: Int, in text: String) -> (line: Int, column: Int) {
    var line = 1
    var lineStart = text.utf8.startIndex
    let end = text.utf8.index(text.utf8.startIndex, offsetBy: max(0, offset), limitedBy: text.utf8.endIndex)
        ?? text.utf8.endIndex
    var i = text.utf8.startIndex
    while i < end {
        if text.utf8[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = text.utf8.index(after: i)
        }
        i = text.utf8.index(after: i)
    }
    let column = String(decoding: text.utf8[lineStart..<end], as: UTF8.self).unicodeScalars.count + 1
    return (line, column)
}
