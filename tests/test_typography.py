"""Chinese punctuation for people: visible text only, never data."""

from hypothesis import given
from hypothesis import strategies as st

from junheng.typography import typeset, typeset_html


def test_visible_text_gets_chinese_punctuation():
    html = "<p>上限 0.45;偏离最大:<b>城关小学</b>,达标(3 所)</p><p>R4(m²) 5.48, x:y</p>"
    assert typeset_html(html) == ("<p>上限 0.45\uff1b偏离最大\uff1a<b>城关小学</b>\uff0c达标\uff083 所\uff09</p>"
                                  "<p>R4(m²) 5.48, x:y</p>")


def test_markup_form_values_scripts_and_typed_text_stay_as_they_are():
    html = ('<input name="school_name" value="实验小学(南校区),一部">'
            '<textarea name="note">已核实,无误(见附件)</textarea>'
            '<script>var label = "学校:" + (a, b);</script>'
            '<div data-chart=\'{"名称":"小学,初中"}\'>学校&amp;,单位&#12290;:完成</div>'
            '<!-- 注释,不动 --><pre>原样:保留</pre>')
    out = typeset_html(html)
    for kept in ('value="实验小学(南校区),一部"', "已核实,无误(见附件)", 'var label = "学校:" + (a, b);',
                 '\'{"名称":"小学,初中"}\'', "<!-- 注释,不动 -->", "<pre>原样:保留</pre>", "&amp;", "&#12290;"):
        assert kept in out
    assert "单位&#12290;\uff1a完成" in out  # the mark itself is text next to Chinese


_TEXT = st.text(alphabet=st.sampled_from(list("中文ab1 ,:;()?!“”、.")), max_size=40)


@given(_TEXT)
def test_plain_text_is_typeset_exactly_as_documents_are(text):
    assert typeset_html(text) == typeset(text)


@given(st.lists(st.tuples(_TEXT, _TEXT), max_size=6))
def test_tags_and_their_attributes_come_back_unchanged(parts):
    html = "".join(f'{text}<span title="{attr.replace(chr(34), "")}">' for text, attr in parts)
    out = typeset_html(html)
    tags = [f'<span title="{attr.replace(chr(34), "")}">' for _, attr in parts]
    position = 0
    for tag in tags:  # every tag, in order, as written
        position = out.index(tag, position) + len(tag)
    assert len(out) == len(html)
