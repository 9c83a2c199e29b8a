{%- macro normalised_name(expression) -%}
    {#- A name as the register and the partner seed write it, in one form: full-width Latin letters,
        digits and punctuation (Ａ, （, ：) become their ASCII forms, every run of spaces (the
        ideographic space U+3000 and no-break spaces included) one space, no space at either end.
        Case is kept for display; name_key() folds it. -#}
    trim(regexp_replace(
        translate({{ expression }}, '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～', '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~'),
        '[\s\x{3000}\x{00a0}]+', ' ', 'g'
    ))
{%- endmacro %}

{%- macro name_key(expression) -%}
    {#- What two spellings of one name share: the normalised name in lower case. -#}
    lower({{ normalised_name(expression) }})
{%- endmacro %}
