"""Reading a corpus the user brings: every bad input a clear InvEmbError, what can be mended mended and said,
CSV columns chosen or guessed, and a fingerprint of the content alone."""

import pytest

import invemb_core as ie
from invemb_core.user_corpus import MAX_CHARS, MAX_SENTENCES, NO_LIMITS, csv_columns, guess_column, read_corpus


def test_what_was_accepted_is_said():
    lines = [f"sentence number {i}." for i in range(4_812)] + [""] * 100 + ["sentence number 7."] * 88
    corpus = read_corpus("\n".join(lines).encode())
    assert len(corpus.sentences) == 4_812
    assert corpus.summary == "4,812 sentences; 188 empty or duplicate lines skipped"
    assert corpus.notes == []


def test_spaces_are_tidied_and_the_order_kept():
    corpus = read_corpus("  b  second\tline \r\na first line\n\nb second line\n")
    assert corpus.sentences == ["b second line", "a first line"]
    assert corpus.summary == "2 sentences; 2 empty or duplicate lines skipped"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "is empty"),
        ("", "is empty"),
        (b" \n\n\t \n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
        (b"PK\x03\x04\x14\x00\x06\x00", "zip archive"),
        (b"%PDF-1.7\n", "a PDF"),
        ("one line\ncaf\u00e9 au lait\n".encode("latin-1"), "not UTF-8 text: line 2 has a byte (0xE9)"),
        (b"\xef\xbb\xbf\n\n", "holds no sentence"),
    ],
)
def test_bad_files_say_what_is_wrong(data, message):
    with pytest.raises(ie.InvEmbError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_corpus(data, filename="mine.txt")


def test_a_50_megabyte_file_is_refused_with_the_command_line_named():
    data = b"a short sentence here.\n" * (50 * 1024 * 1024 // 23)
    with pytest.raises(ie.InvEmbError, match=r"50\.0 MB; the app reads up to 10 MB.*invemb project --file"):
        read_corpus(data, filename="big.txt")


def test_100000_lines_keep_the_first_5000_and_say_so():
    corpus = read_corpus("\n".join(f"line {i} of many." for i in range(100_000)), filename="many.txt")
    assert len(corpus.sentences) == MAX_SENTENCES and corpus.sentences[0] == "line 0 of many."
    assert any("100,000 distinct sentences: the app maps the first 5,000" in n for n in corpus.notes)
    assert len(read_corpus("\n".join(f"line {i}" for i in range(6_000)), limits=NO_LIMITS).sentences) == 6_000


def test_lines_of_3000_characters_are_cut_and_said():
    corpus = read_corpus("short one.\n" + "word " * 600 + "\n" + "x" * 3_000 + "\n")
    assert [len(s) for s in corpus.sentences] == [10, MAX_CHARS, MAX_CHARS]
    assert any("2 lines longer than 1,000 characters were cut" in n for n in corpus.notes)


def test_markdown_and_html_are_kept_as_text_and_said():
    lines = ["**bold** words", "<b>tag</b> here", "[a link](http://example.com)", "# a heading", "plain words"]
    corpus = read_corpus("\n".join(lines))
    assert corpus.sentences == lines  # nothing stripped or rendered here: the app shows it as plain text
    assert any("4 sentences contain HTML or Markdown" in n for n in corpus.notes)


def test_utf8_and_utf16_with_byte_order_marks():
    assert read_corpus("\ufeffa cat sleeps.\n".encode()).sentences == ["a cat sleeps."]
    assert read_corpus("a cat sleeps.\r\nun café.\r\n".encode("utf-16")).sentences == ["a cat sleeps.", "un café."]


CSV = 'id,text,topic\n1,"A dog runs, fast.",animals\n2,"A line\nwith a break",other\n3,,animals\n4,A cat sleeps.,\n'


def test_csv_columns_and_the_column_guessed_by_its_name():
    assert csv_columns(CSV.encode(), filename="mine.csv") == (["id", "text", "topic"], "text")
    corpus = read_corpus(CSV.encode(), filename="mine.csv")
    assert corpus.sentences == ["A dog runs, fast.", "A line with a break", "A cat sleeps."]
    assert corpus.summary == "3 sentences; 1 empty or duplicate line skipped"


def test_csv_column_chosen_and_a_group_column():
    corpus = read_corpus(CSV.encode(), filename="mine.csv", column="topic")
    assert corpus.sentences == ["animals", "other"]
    grouped = read_corpus(CSV.encode(), filename="mine.csv", column="text", group_column="topic")
    assert grouped.groups == ["animals", "other", "(none)"]
    assert grouped.digest != read_corpus(CSV.encode(), filename="mine.csv").digest


def test_a_csv_without_the_named_column():
    with pytest.raises(ie.InvEmbError, match="has no column named 'sentence'; its columns are: id, text, topic"):
        read_corpus(CSV.encode(), filename="mine.csv", column="sentence")
    with pytest.raises(ie.InvEmbError, match="no column named 'label'"):
        read_corpus(CSV.encode(), filename="mine.csv", group_column="label")
    with pytest.raises(ie.InvEmbError, match="header row but no rows"):
        read_corpus(b"id,text\n", filename="header.csv")


def test_csv_guess_by_length_and_other_delimiters():
    data = "n;words;score\n1;the first sentence is long;0.5\n2;and so is the second one;0.7\n"
    columns, guess = csv_columns(data.encode(), filename="semi.csv")
    assert columns == ["n", "words", "score"] and guess == "words"
    assert read_corpus(data.encode(), filename="semi.csv").sentences[0] == "the first sentence is long"
    tabbed = "label\tsentence\nx\ta tab separated line\n"
    assert read_corpus(tabbed.encode(), filename="t.tsv").sentences == ["a tab separated line"]
    assert guess_column(["a", "b"]) == "a"


def test_the_digest_is_the_content_alone():
    a = read_corpus(b"one line.\ntwo lines.\n", filename="a.txt")
    b = read_corpus("one line.\n\n  two lines.\n", filename="")
    assert a.digest == b.digest and a.source != b.source
    assert a.digest != read_corpus(b"two lines.\none line.\n").digest  # order is part of a map
