//! docker-style generated names ("eager_lovelace"): an adjective and a scientist's name.

const ADJECTIVES: &[&str] = &[
    "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful",
    "blissful", "bold", "boring", "brave", "busy", "charming", "clever", "compassionate",
    "competent", "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted",
    "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting",
    "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant",
    "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry",
    "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind",
    "laughing", "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty",
    "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic", "peaceful", "pedantic",
    "pensive", "practical", "priceless", "quirky", "quizzical", "recursing", "relaxed",
    "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange",
    "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat",
    "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful",
    "zealous", "zen",
];

const SURNAMES: &[&str] = &[
    "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata",
    "babbage", "banach", "bardeen", "bartik", "bassi", "bell", "bhabha", "blackwell", "bohr",
    "booth", "borg", "bose", "brahmagupta", "brattain", "brown", "carson", "chandrasekhar",
    "clarke", "colden", "cori", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley",
    "einstein", "elion", "engelbart", "euclid", "euler", "faraday", "fermat", "fermi", "feynman",
    "franklin", "galileo", "gauss", "goldberg", "goldstine", "golick", "goodall", "hamilton",
    "hawking", "heisenberg", "hermann", "hodgkin", "hoover", "hopper", "hypatia", "jackson",
    "jang", "jennings", "johnson", "joliot", "kalam", "kepler", "khorana", "kilby", "knuth",
    "kowalevski", "lalande", "lamarr", "lamport", "leakey", "leavitt", "lehmann", "lewin",
    "lovelace", "lumiere", "mahavira", "mayer", "mccarthy", "mcclintock", "meitner", "mendel",
    "merkle", "mirzakhani", "morse", "napier", "nash", "neumann", "newton", "nobel", "noether",
    "pare", "pascal", "pasteur", "payne", "perlman", "pike", "poincare", "ptolemy", "raman",
    "ramanujan", "ritchie", "rosalind", "sammet", "shamir", "shannon", "shockley", "sinoussi",
    "stonebraker", "swanson", "tesla", "thompson", "torvalds", "turing", "varahamihira",
    "villani", "volhard", "wescoff", "wiles", "williams", "wilson", "wing", "wozniak", "wright",
    "yalow", "yonath",
];

/// A random "adjective_surname" not in `taken`; after a few collisions a digit is appended,
/// as docker does.
pub fn generate_name(taken: &dyn Fn(&str) -> bool) -> String {
    let mut retry = 0u32;
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).expect("the kernel's random source is available");
        let a = ADJECTIVES[u16::from_le_bytes([b[0], b[1]]) as usize % ADJECTIVES.len()];
        let s = SURNAMES[u16::from_le_bytes([b[2], b[3]]) as usize % SURNAMES.len()];
        // docker: Steve Wozniak is not boring
        if a == "boring" && s == "wozniak" {
            continue;
        }
        let mut name = format!("{a}_{s}");
        if retry > 5 {
            name.push_str(&(b[0] % 10).to_string());
        }
        if !taken(&name) {
            return name;
        }
        retry += 1;
    }
}
