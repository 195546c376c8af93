/// A binary min-heap: O(log n) push and pop, O(1) peek.
struct MinHeap<Element: Comparable & Sendable>: Sendable {
    private(set) var elements: [Element] = []

    init() {}

    var count: Int { elements.count }
    var isEmpty: Bool { elements.isEmpty }
    var min: Element? { elements.first }

    mutating func push(_ e: Element) {
        elements.append(e)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func pop() -> Element? {
        guard !elements.isEmpty else { return nil }
        let top = elements[0]
        let last = elements.removeLast()
        if !elements.isEmpty {
            elements[0] = last
            var parent = 0
            let n = elements.count
            while true {
                let left = 2 * parent + 1
                guard left < n else { break }
                var smallest = left
                if left + 1 < n && elements[left + 1] < elements[left] { smallest = left + 1 }
                guard elements[smallest] < elements[parent] else { break }
                elements.swapAt(smallest, parent)
                parent = smallest
            }
        }
        return top
    }
}
