"""The password policy (junheng.store.users.check_password_strength): one rule for every
password a person chooses, each refusal saying in Chinese what is expected."""

from __future__ import annotations

import pytest

from junheng.store.users import (
    MIN_PASSWORD_LENGTH,
    UserError,
    check_password_strength,
    common_passwords,
    create_user,
    new_password,
    password_problem,
)


@pytest.mark.parametrize(("password", "username", "words"), [
    ("short-1", None, "至少 10 位(现为 7 位)"),
    ("abcdefgh9", None, "至少 10 位(现为 9 位)"),
    ("1234509876", None, "不能全是数字"),
    ("１２３４５６７８９０", None, "不能全是数字"),  # full-width digits are digits too
    ("zzzzzzzzzzzz", None, "同一个字符重复"),
    ("ZhangSan2024!", "zhangsan", "包含用户名“zhangsan”"),  # contained, whatever the case
    ("wang.lei.x", "WANG.LEI.X", "不能是用户名"),
    ("123456789a", None, "常见密码"),
    ("QWERTYUIOP", None, "常见密码"),  # case-insensitive
    ("woaini1314", None, "常见密码"),
    ("a123456789", None, "常见密码"),
    ("password123", None, "常见密码"),
    ("1qaz2wsx3edc", None, "常见密码"),
])
def test_weak_passwords_are_refused_saying_what_is_expected(password, username, words):
    with pytest.raises(UserError) as refused:
        check_password_strength(password, username)
    message = refused.value.user_message()
    assert words in message
    assert f"至少 {MIN_PASSWORD_LENGTH} 位" in message and "常见密码" in message  # the whole rule, every time


@pytest.mark.parametrize(("password", "username"), [
    ("县教体局-填报-2024", "xian"),
    ("correct horse battery", "zhangsan"),
    ("ab-cd-ef-gh-ij", "ab"),  # a 2-character username is refused only as the whole password
    ("Wq7#kLm2pZ", None),
])
def test_good_passwords_are_accepted(password, username):
    assert password_problem(password, username) is None
    check_password_strength(password, username)


def test_the_common_list_is_shipped_with_the_package_and_read_once():
    words = common_passwords()
    assert common_passwords() is words  # loaded once
    assert len(words) >= 1000
    assert {"123456789a", "qwertyuiop", "woaini1314", "a123456789"} <= words
    assert all(w == w.casefold() and not w.startswith("#") for w in words)


def test_generated_passwords_pass_the_policy_for_their_user():
    for username in ("ab", "admin", "xian"):
        for _ in range(50):
            assert password_problem(new_password(username), username) is None


def test_create_user_applies_the_policy_and_saves_nothing_when_refused(database):
    from sqlalchemy import func, select

    from junheng.store.models import User

    with database.session() as s:
        with pytest.raises(UserError, match="包含用户名"):
            create_user(s, "lisi", "lisi-password-1", role="admin")
        assert s.scalar(select(func.count()).select_from(User)) == 0
        user = create_user(s, "lisi", "李四的新口令-2024", role="admin")
        assert user.must_change_password is False
